"""Another workspace's customers are a 404, exactly like missing ones; lists never leak."""

from __future__ import annotations

import pytest

from tests.factories import customer, put_customers

T = "2024-05-01T12:00:00Z"

ROUTES_WITH_CUSTOMER_ID = [
    ("get", "/api/v1/customers/ann", None),
    ("delete", "/api/v1/customers/ann", None),
    ("get", "/api/v1/customers/ann/export", None),
    ("get", "/api/v1/customers/ann/connections", None),
    ("post", "/api/v1/customers/ann/events", {"kind": "login", "occurred_at": T}),
]


@pytest.fixture
def ann(api):
    """ann and bob in the first workspace, connected, with a mention and an event."""
    put_customers(api, "ann", "bob")
    api.post(
        "/api/v1/connections", json={"items": [{"source": "ann", "target": "bob", "channel": "x"}]}
    )
    mention = {
        "external_id": "m-1",
        "channel": "x",
        "customer": "ann",
        "text": "hi",
        "sentiment": 0,
        "occurred_at": T,
    }
    api.post("/api/v1/mentions", json={"items": [mention]})
    return "ann"


@pytest.mark.parametrize(("method", "url", "body"), ROUTES_WITH_CUSTOMER_ID)
def test_other_workspace_gets_404_as_for_a_missing_customer(other_api, ann, method, url, body):
    theirs = getattr(other_api, method)(url, json=body)
    missing = getattr(other_api, method)(url.replace("/ann", "/nobody"), json=body)

    assert theirs.status_code == 404
    assert theirs.content_type == "application/problem+json"
    assert theirs.json["detail"] == missing.json["detail"].replace("nobody", "ann")
    assert theirs.json["title"] == missing.json["title"]


@pytest.mark.parametrize(("method", "url", "body"), ROUTES_WITH_CUSTOMER_ID)
def test_other_workspace_request_changes_nothing(api, other_api, ann, method, url, body):
    before = api.get("/api/v1/customers/ann/export").json

    getattr(other_api, method)(url, json=body)

    assert api.get("/api/v1/customers/ann/export").json == before


def test_put_by_other_workspace_creates_its_own_customer(api, other_api, ann):
    response = other_api.put("/api/v1/customers/ann", json=customer("ann", first_name="Other"))

    assert response.json["status"] == "created"
    assert api.get("/api/v1/customers/ann").json["first_name"] == "Ann"
    assert other_api.get("/api/v1/customers/ann").json["first_name"] == "Other"


def test_list_shows_only_own_workspace(api, other_api, ann):
    put_customers(other_api, "zoe")

    assert [c["external_id"] for c in other_api.get("/api/v1/customers").json["items"]] == ["zoe"]
    assert [c["external_id"] for c in api.get("/api/v1/customers").json["items"]] == ["ann", "bob"]


def test_own_connections_list_does_not_show_other_workspace_edges(api, other_api, ann):
    put_customers(other_api, "ann", "bob")

    assert other_api.get("/api/v1/customers/ann/connections").json["items"] == []


@pytest.mark.parametrize(
    ("url", "item"),
    [
        ("/api/v1/events", {"customer": "ann", "kind": "login", "occurred_at": T}),
        (
            "/api/v1/mentions",
            {
                "external_id": "m-9",
                "channel": "x",
                "customer": "ann",
                "sentiment": 0.2,
                "occurred_at": T,
            },
        ),
        ("/api/v1/connections", {"source": "ann", "target": "bob", "channel": "x"}),
    ],
)
def test_batches_cannot_reference_other_workspace_customers(other_api, ann, url, item):
    body = other_api.post(url, json={"items": [item]}).json

    assert body["results"][0]["status"] == "rejected"
    assert body["results"][0]["errors"] in (
        {"customer": ["Unknown customer."]},
        {"source": ["Unknown customer."]},
    )


def test_mention_external_ids_are_per_workspace(api, other_api, ann):
    mention = {"external_id": "m-1", "channel": "x", "sentiment": 0.9, "occurred_at": T}

    body = other_api.post("/api/v1/mentions", json={"items": [mention]}).json

    assert body["results"][0]["status"] == "created"
    assert api.get("/api/v1/customers/ann/export").json["mentions"][0]["sentiment"] == 0


def test_event_ids_are_per_workspace(api, other_api, ann):
    put_customers(other_api, "zoe")
    event = {"kind": "login", "occurred_at": T, "event_id": "e-1"}
    api.post("/api/v1/customers/ann/events", json=event)

    response = other_api.post("/api/v1/customers/zoe/events", json=event)

    assert response.status_code == 201
    assert response.json["status"] == "created"


def test_import_cannot_reference_other_workspace_customers(other_api, ann):
    response = other_api.post(
        "/api/v1/imports?kind=connections",
        data=b"source,target,channel\nann,bob,x\n",
        content_type="text/csv",
    )

    assert response.json["errors"] == [
        {"line": 2, "field": "source", "message": "Unknown customer."}
    ]
