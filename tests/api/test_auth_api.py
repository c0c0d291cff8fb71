"""Bearer API keys: 401 without a working key, 403 without the scope the route needs."""

from __future__ import annotations

import pytest

from advocacy.workspaces import service
from tests.factories import ApiClient, customer, put_customers

T = "2024-05-01T12:00:00Z"

# (method, url, json body) for every route that needs a key, with the scope it needs.
READ_ROUTES = [
    ("get", "/api/v1/customers", None),
    ("get", "/api/v1/customers/ann", None),
    ("get", "/api/v1/customers/ann/export", None),
    ("get", "/api/v1/customers/ann/connections", None),
]
WRITE_ROUTES = [
    ("put", "/api/v1/customers/ann", customer("ann")),
    ("delete", "/api/v1/customers/ann", None),
    ("post", "/api/v1/customers/ann/events", {"kind": "login", "occurred_at": T}),
    ("post", "/api/v1/events", {"items": [{"customer": "ann", "kind": "login", "occurred_at": T}]}),
    (
        "post",
        "/api/v1/mentions",
        {"items": [{"external_id": "m", "channel": "x", "sentiment": 0, "occurred_at": T}]},
    ),
    (
        "post",
        "/api/v1/connections",
        {"items": [{"source": "ann", "target": "bob", "channel": "x"}]},
    ),
    ("post", "/api/v1/imports?kind=customers", None),
]
ALL_ROUTES = READ_ROUTES + WRITE_ROUTES


def _call(client, method, url, body, headers=None):
    return getattr(client, method)(url, json=body, headers=headers or {})


def _assert_401(response):
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["title"] == "Unauthorized"


@pytest.mark.parametrize(("method", "url", "body"), ALL_ROUTES)
def test_missing_key_is_401(client, method, url, body):
    _assert_401(_call(client, method, url, body))


@pytest.mark.parametrize(
    "header",
    [
        "adv_abc",  # no scheme
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "Token adv_abc",
    ],
)
def test_malformed_authorization_header_is_401(client, header):
    _assert_401(client.get("/api/v1/customers", headers={"Authorization": header}))


@pytest.mark.parametrize(
    "key",
    [
        "adv_" + "A" * 43,  # right shape, never issued
        "sk_live_something",  # wrong prefix
        "adv_" + "x" * 200,  # absurdly long
    ],
)
def test_unknown_key_is_401(client, workspace, key):
    _assert_401(client.get("/api/v1/customers", headers={"Authorization": f"Bearer {key}"}))


def test_key_with_a_changed_character_is_401(client, workspace):
    tampered = workspace.admin_key[:-1] + ("A" if workspace.admin_key[-1] != "A" else "B")

    _assert_401(client.get("/api/v1/customers", headers={"Authorization": f"Bearer {tampered}"}))


def test_scheme_is_case_insensitive(client, workspace):
    response = client.get(
        "/api/v1/customers", headers={"Authorization": f"bearer {workspace.admin_key}"}
    )

    assert response.status_code == 200


def test_revoked_key_is_401(client, session, workspace):
    secret = workspace.key(session, "read")
    (key,) = [
        k for k in service.list_api_keys(session, workspace_id=workspace.id) if k.scopes == ["read"]
    ]
    assert ApiClient(client, secret).get("/api/v1/customers").status_code == 200
    service.revoke_api_key(session, key_id=key.id)
    session.commit()

    _assert_401(ApiClient(client, secret).get("/api/v1/customers"))


@pytest.mark.parametrize(("method", "url", "body"), WRITE_ROUTES)
def test_read_key_cannot_write(client, session, workspace, method, url, body):
    reader = ApiClient(client, workspace.key(session, "read"))

    response = _call(reader, method, url, body)

    assert response.status_code == 403
    assert response.content_type == "application/problem+json"
    assert "write" in response.json["detail"]


@pytest.mark.parametrize(("method", "url", "body"), READ_ROUTES)
def test_write_key_cannot_read(client, session, workspace, method, url, body):
    writer = ApiClient(client, workspace.key(session, "write"))

    response = _call(writer, method, url, body)

    assert response.status_code == 403
    assert "read" in response.json["detail"]


@pytest.mark.parametrize("scope", ["campaigns", "conversions"])
def test_other_scopes_cannot_read_or_write(client, session, workspace, scope):
    other = ApiClient(client, workspace.key(session, scope))

    assert other.get("/api/v1/customers").status_code == 403
    assert other.put("/api/v1/customers/ann", json={}).status_code == 403


def test_forbidden_write_changes_nothing(api, client, session, workspace):
    reader = ApiClient(client, workspace.key(session, "read"))

    reader.put("/api/v1/customers/ann", json=customer("ann"))

    assert api.get("/api/v1/customers/ann").status_code == 404


def test_read_key_can_read(api, client, session, workspace):
    put_customers(api, "ann")
    reader = ApiClient(client, workspace.key(session, "read"))

    assert reader.get("/api/v1/customers/ann").status_code == 200


def test_write_key_can_write(client, session, workspace):
    writer = ApiClient(client, workspace.key(session, "write"))

    assert writer.put("/api/v1/customers/ann", json=customer("ann")).status_code == 200


def test_key_with_read_and_write_can_do_both(client, session, workspace):
    both = ApiClient(client, workspace.key(session, "read", "write"))

    assert both.put("/api/v1/customers/ann", json=customer("ann")).status_code == 200
    assert both.get("/api/v1/customers/ann").status_code == 200


def test_issued_key_has_prefix_and_at_least_128_random_bits(session, workspace):
    issued = service.create_api_key(session, workspace_id=workspace.id, name="k", scopes=["read"])

    assert issued.secret.startswith("adv_")
    # token_urlsafe: 6 bits per character after the prefix.
    assert (len(issued.secret) - len("adv_")) * 6 >= 128


def test_key_is_stored_only_as_a_hash(session, workspace):
    issued = service.create_api_key(session, workspace_id=workspace.id, name="k", scopes=["read"])

    assert issued.key.key_hash == service.hash_key(issued.secret)
    assert issued.secret not in (issued.key.key_hash, issued.key.prefix, issued.key.name)
    assert len(issued.key.prefix) < len(issued.secret) // 2
