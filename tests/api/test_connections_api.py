"""Directed connections between customers: batch upsert and per-customer listing."""

from __future__ import annotations

import pytest

from tests.factories import put_customers

T = "2024-05-01T12:00:00Z"


def _edge(source="ann", target="bob", channel="x", **fields):
    return {"source": source, "target": target, "channel": channel, **fields}


def _batch(api, *items):
    response = api.post("/api/v1/connections", json={"items": list(items)})
    assert response.status_code == 200, response.json
    return response.json


def _connections(api, external_id, **params):
    response = api.get(f"/api/v1/customers/{external_id}/connections", query_string=params)
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def people(api):
    put_customers(api, "ann", "bob", "cat")


def test_connection_is_created_with_all_fields(api, people):
    body = _batch(
        api,
        _edge(
            replies=3,
            likes=10,
            shares=1,
            messages=2,
            follows=True,
            sentiment=0.8,
            last_interaction_at=T,
        ),
    )

    assert body["results"] == [
        {"index": 0, "key": "ann>bob@x", "status": "created", "errors": None}
    ]
    (edge,) = _connections(api, "ann")["items"]
    assert edge["source"] == "ann"
    assert edge["target"] == "bob"
    assert edge["direction"] == "out"
    assert (edge["replies"], edge["likes"], edge["shares"], edge["messages"]) == (3, 10, 1, 2)
    assert edge["follows"] is True
    assert edge["sentiment"] == 0.8
    assert edge["last_interaction_at"] == "2024-05-01T12:00:00+00:00"


def test_connection_defaults_to_zero_counts(api, people):
    _batch(api, _edge())

    (edge,) = _connections(api, "ann")["items"]
    assert (edge["replies"], edge["likes"], edge["shares"], edge["messages"]) == (0, 0, 0, 0)
    assert edge["follows"] is False
    assert edge["sentiment"] is None


def test_connection_is_listed_for_the_target_as_incoming(api, people):
    _batch(api, _edge())

    (edge,) = _connections(api, "bob")["items"]
    assert edge["direction"] == "in"
    assert edge["source"] == "ann"


def test_repost_of_connection_is_unchanged(api, people):
    _batch(api, _edge(likes=2, last_interaction_at=T, sentiment=0.1))

    body = _batch(api, _edge(likes=2, last_interaction_at=T, sentiment=0.1))

    assert body["summary"] == {"created": 0, "updated": 0, "unchanged": 1, "rejected": 0}


def test_repost_with_new_counts_replaces_them(api, people):
    _batch(api, _edge(likes=2))

    body = _batch(api, _edge(likes=5))

    assert body["results"][0]["status"] == "updated"
    assert _connections(api, "ann")["items"][0]["likes"] == 5


def test_same_pair_on_another_channel_is_another_connection(api, people):
    body = _batch(api, _edge(channel="x"), _edge(channel="instagram"))

    assert body["summary"]["created"] == 2
    assert len(_connections(api, "ann")["items"]) == 2


def test_reverse_direction_is_another_connection(api, people):
    body = _batch(api, _edge("ann", "bob"), _edge("bob", "ann"))

    assert body["summary"]["created"] == 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"target": "ann"}, "target"),
        ({"likes": -1}, "likes"),
        ({"likes": 2**31}, "likes"),
        ({"likes": "many"}, "likes"),
        ({"replies": 1.5}, "replies"),
        ({"sentiment": 1.5}, "sentiment"),
        ({"follows": "sometimes"}, "follows"),
        ({"channel": ""}, "channel"),
        ({"last_interaction_at": "soon"}, "last_interaction_at"),
        ({"weight": 3}, "weight"),
    ],
)
def test_invalid_connection_is_rejected_naming_the_field(api, people, fields, field):
    body = _batch(api, {**_edge(), **fields})

    (result,) = body["results"]
    assert result["status"] == "rejected"
    assert field in result["errors"], result


@pytest.mark.parametrize(
    ("source", "target", "field"), [("zed", "bob", "source"), ("ann", "zed", "target")]
)
def test_connection_to_unknown_customer_is_rejected(api, people, source, target, field):
    body = _batch(api, _edge(source, target))

    assert body["results"][0]["errors"] == {field: ["Unknown customer."]}


def test_connection_batch_with_bad_items_applies_the_good_ones(api, people):
    body = _batch(api, _edge("ann", "bob"), _edge("ann", "zed"), _edge("cat", "ann", likes=-3))

    assert [r["status"] for r in body["results"]] == ["created", "rejected", "rejected"]
    assert [e["target"] for e in _connections(api, "ann")["items"]] == ["bob"]


def test_connection_batch_over_1000_items_is_422(api, people):
    response = api.post("/api/v1/connections", json={"items": [_edge()] * 1001})

    assert response.status_code == 422
    assert "items" in response.json["errors"]


def test_connections_page_with_cursor(api, people):
    put_customers(api, "dan", "eve")
    _batch(api, *[_edge("ann", other) for other in ("bob", "cat", "dan", "eve")])

    first = _connections(api, "ann", limit=3)
    second = _connections(api, "ann", limit=3, cursor=first["next_cursor"])

    assert [e["target"] for e in first["items"]] == ["bob", "cat", "dan"]
    assert [e["target"] for e in second["items"]] == ["eve"]
    assert second["next_cursor"] is None


def test_connections_of_unknown_customer_is_404(api):
    response = api.get("/api/v1/customers/nobody/connections")

    assert response.status_code == 404


@pytest.mark.parametrize(
    "cursor", ["e30", "WyJ4Il0", "Wzk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5XQ", "WzEuNV0"]
)
def test_connections_forged_cursor_is_422(api, people, cursor):
    response = api.get("/api/v1/customers/ann/connections", query_string={"cursor": cursor})

    assert response.status_code == 422
    assert response.json["errors"] == {"cursor": ["Invalid cursor."]}


def test_connections_limit_over_100_is_422(api, people):
    response = api.get("/api/v1/customers/ann/connections", query_string={"limit": 101})

    assert response.status_code == 422
    assert "limit" in response.json["errors"]
