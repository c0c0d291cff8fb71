"""The Settings page: what each role sees and may change, and that changes really happen."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from advocacy.workspaces import service
from advocacy.workspaces.models import ApiKey, Workspace

OWNER_ONLY_POSTS = [
    ("/settings/workspace", {"time_zone": "Europe/Berlin"}),
    ("/settings/domains", {"domains": "shop.example"}),
    ("/settings/keys", {"name": "k", "scopes": ["read"]}),
    ("/settings/staff/invite", {"email": "x@staff.example", "role": "viewer"}),
    ("/settings/webhooks", {"url": "https://hooks.example/in"}),
]


def _secret(html: str) -> str:
    found = re.search(r'id="one-time-secret">([^<]+)<', html)
    assert found, "no one-time secret on the page"
    return found.group(1)


@pytest.mark.parametrize("role", ["manager", "reviewer", "viewer"])
def test_only_owners_may_change_settings(console, role):
    console.sign_in(role)
    for url, data in OWNER_ONLY_POSTS:
        assert console.post(url, data=data).status_code == 403, url


@pytest.mark.parametrize("role", ["manager", "reviewer", "viewer"])
def test_non_owners_see_settings_without_staff_or_keys(console, role):
    console.sign_in(role)
    html = console.get("/settings/").get_data(as_text=True)
    assert "Time zone" in html
    assert 'id="keys"' not in html and 'id="staff"' not in html


def test_owner_sees_staff_keys_and_webhooks(console):
    console.sign_in("owner")
    html = console.get("/settings/").get_data(as_text=True)
    for section in ('id="staff"', 'id="keys"', 'id="webhooks"', 'id="domains"'):
        assert section in html
    assert "owner-" in html  # the owner is listed among the staff


def test_post_without_csrf_token_is_refused(console, session, workspace):
    console.sign_in("owner")
    response = console.open("/settings/workspace", method="POST", data={"time_zone": "Asia/Tokyo"})
    assert response.status_code == 400
    assert session.get(Workspace, workspace.id).time_zone == "UTC"


def test_htmx_post_with_the_header_token_is_accepted(console, session, workspace):
    console.sign_in("owner")
    response = console.post("/settings/workspace", data={"time_zone": "Asia/Tokyo"}, htmx=True)
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Workspace, workspace.id).time_zone == "Asia/Tokyo"


def test_owner_sets_time_zone_and_brand(console, session, workspace):
    console.sign_in("owner")
    response = console.post(
        "/settings/workspace",
        data={"time_zone": "Europe/Berlin", "brand_name": "Acme Shop", "brand_colour": "#AA3300"},
    )
    assert response.status_code == 302
    session.expire_all()
    saved = session.get(Workspace, workspace.id)
    assert (saved.time_zone, saved.brand_name, saved.brand_colour) == (
        "Europe/Berlin",
        "Acme Shop",
        "#aa3300",
    )
    css = console.get(f"/brand/{workspace.id}.css").get_data(as_text=True)
    assert "--brand: #aa3300" in css


def test_unknown_time_zone_is_refused_with_the_field_named(console, session, workspace):
    console.sign_in("owner")
    response = console.post("/settings/workspace", data={"time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert session.get(Workspace, workspace.id).time_zone == "UTC"


def test_owner_replaces_allowed_domains_and_bad_ones_are_named(console, session, workspace):
    console.sign_in("owner")
    ok = console.post("/settings/domains", data={"domains": "shop.example\n*.acme.example\n"})
    assert ok.status_code == 302
    session.expire_all()
    assert session.get(Workspace, workspace.id).allowed_domains == [
        "shop.example",
        "*.acme.example",
    ]
    bad = console.post("/settings/domains", data={"domains": "shop.example\nhttp://x y"})
    assert bad.status_code == 422
    assert "domains-error" in bad.get_data(as_text=True)
    session.expire_all()
    assert session.get(Workspace, workspace.id).allowed_domains == [
        "shop.example",
        "*.acme.example",
    ]


def test_api_key_secret_is_shown_once_and_works(console, client):
    console.sign_in("owner")
    response = console.post("/settings/keys", data={"name": "site", "scopes": ["read"]})
    assert response.status_code == 201
    secret = _secret(response.get_data(as_text=True))
    assert secret not in console.get("/settings/").get_data(as_text=True)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/workspace/allowed-domains", headers=headers).status_code == 200


def test_api_key_needs_a_scope(console):
    console.sign_in("owner")
    response = console.post("/settings/keys", data={"name": "none"})
    assert response.status_code == 400
    assert "scopes-error" in response.get_data(as_text=True)


def test_owner_revokes_a_key(console, session, workspace):
    console.sign_in("owner")
    secret = _secret(
        console.post("/settings/keys", data={"name": "temp", "scopes": ["read"]}).get_data(
            as_text=True
        )
    )
    key = session.scalars(select(ApiKey).where(ApiKey.name == "temp")).one()
    assert console.post(f"/settings/keys/{key.id}/revoke").status_code == 302
    assert service.authenticate(session, secret=secret) is None


def test_another_workspaces_key_is_a_404(console, session, other_workspace):
    console.sign_in("owner")
    theirs = service.list_api_keys(session, workspace_id=other_workspace.id)[0]
    assert console.post(f"/settings/keys/{theirs.id}/revoke").status_code == 404
    session.expire_all()
    assert session.get(ApiKey, theirs.id).revoked_at is None


def test_webhook_secret_shown_once_and_deliveries_page(console, app):
    console.sign_in("owner")
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = True
    try:
        response = console.post(
            "/settings/webhooks",
            data={"url": "http://127.0.0.1:9/hook", "event_types": ["reward.issued"]},
        )
    finally:
        app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = False
    assert response.status_code == 201
    assert _secret(response.get_data(as_text=True)).startswith("whsec_")
    link = re.search(
        r'href="(/settings/webhooks/\d+)"', console.get("/settings/").get_data(as_text=True)
    )
    assert link
    page = console.get(link.group(1))
    assert page.status_code == 200 and "No deliveries." in page.get_data(as_text=True)
    fragment = console.get(link.group(1) + "?state=dead", htmx=True).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="deliveries">') and "<html" not in fragment


def test_webhook_to_a_private_address_is_refused_with_the_field_named(console):
    console.sign_in("owner")
    response = console.post("/settings/webhooks", data={"url": "https://127.0.0.1/hook"})
    assert response.status_code == 422
    assert "url-error" in response.get_data(as_text=True)


def test_another_workspaces_webhook_is_a_404(console, other_workspace):
    from advocacy.webhooks import service as webhooks

    subscription = webhooks.create_subscription(
        console.session,
        workspace_id=other_workspace.id,
        url="http://127.0.0.1:9/hook",
        event_types=[],
        description=None,
        allow_private=True,
    )
    console.session.commit()
    console.sign_in("owner")
    assert console.get(f"/settings/webhooks/{subscription.id}").status_code == 404
    assert console.post(f"/settings/webhooks/{subscription.id}/delete").status_code == 404
