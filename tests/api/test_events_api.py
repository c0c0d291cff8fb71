"""CRM engagement events: one at a time for a customer, or in batches."""

from __future__ import annotations

import pytest

from tests.factories import put_customers

T = "2024-05-01T12:00:00Z"


@pytest.fixture
def ann(api):
    put_customers(api, "ann")
    return "ann"


def _post_one(api, external_id, **event):
    return api.post(f"/api/v1/customers/{external_id}/events", json=event)


def _batch(api, *items):
    response = api.post("/api/v1/events", json={"items": list(items)})
    assert response.status_code == 200, response.json
    return response.json


def _export_events(api, external_id):
    return api.get(f"/api/v1/customers/{external_id}/export").json["events"]


# --- one event for a customer ------------------------------------------------


def test_post_event_is_201_created(api, ann):
    response = _post_one(api, ann, kind="login", occurred_at=T)

    assert response.status_code == 201
    assert response.json == {"index": 0, "key": None, "status": "created"}


def test_post_event_is_recorded_for_the_customer(api, ann):
    _post_one(api, ann, kind="purchase", amount=1999, currency="EUR", occurred_at=T, event_id="o-1")

    (event,) = _export_events(api, ann)
    assert event["kind"] == "purchase"
    assert event["amount"] == 1999
    assert event["currency"] == "EUR"
    assert event["event_id"] == "o-1"
    assert event["occurred_at"] == "2024-05-01T12:00:00+00:00"


def test_post_event_without_offset_is_taken_as_utc(api, ann):
    _post_one(api, ann, kind="login", occurred_at="2024-05-01T12:00:00")

    assert _export_events(api, ann)[0]["occurred_at"] == "2024-05-01T12:00:00+00:00"


def test_post_event_with_offset_is_stored_in_utc(api, ann):
    _post_one(api, ann, kind="login", occurred_at="2024-05-01T14:00:00+02:00")

    assert _export_events(api, ann)[0]["occurred_at"] == "2024-05-01T12:00:00+00:00"


def test_repost_same_event_id_is_200_unchanged(api, ann):
    _post_one(api, ann, kind="nps", value=9, occurred_at=T, event_id="e-1")

    response = _post_one(api, ann, kind="nps", value=9, occurred_at=T, event_id="e-1")

    assert response.status_code == 200
    assert response.json["status"] == "unchanged"
    assert len(_export_events(api, ann)) == 1


def test_repost_event_id_with_new_value_updates_it(api, ann):
    _post_one(api, ann, kind="nps", value=9, occurred_at=T, event_id="e-1")

    response = _post_one(api, ann, kind="nps", value=3, occurred_at=T, event_id="e-1")

    assert response.status_code == 200
    assert response.json["status"] == "updated"
    assert [e["value"] for e in _export_events(api, ann)] == [3]


def test_post_event_for_unknown_customer_is_404(api):
    response = _post_one(api, "nobody", kind="login", occurred_at=T)

    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"kind": "nps", "value": 11}, "value"),
        ({"kind": "nps", "value": -1}, "value"),
        ({"kind": "nps"}, "value"),
        ({"kind": "nps", "value": "9"}, "value"),
        ({"kind": "nps", "value": 9.5}, "value"),
        ({"kind": "review", "value": 0}, "value"),
        ({"kind": "review", "value": 6}, "value"),
        ({"kind": "support_contact", "value": 6}, "value"),
        ({"kind": "purchase", "currency": "EUR"}, "amount"),
        ({"kind": "purchase", "amount": 100}, "currency"),
        ({"kind": "purchase", "amount": 100, "currency": "eur"}, "currency"),
        ({"kind": "purchase", "amount": 100, "currency": "EUR\n"}, "currency"),
        ({"kind": "purchase", "amount": -5, "currency": "EUR"}, "amount"),
        ({"kind": "purchase", "amount": 12.5, "currency": "EUR"}, "amount"),
        ({"kind": "login", "amount": 100, "currency": "EUR"}, "amount"),
        ({"kind": "login", "value": 1}, "value"),
        ({"kind": "login", "label": "x"}, "label"),
        ({"kind": "other"}, "label"),
        ({"kind": "other", "label": "x", "value": 2**31}, "value"),
        ({"kind": "refund"}, "kind"),
        ({"kind": "login", "occurred_at": "not a time"}, "occurred_at"),
        ({"kind": "login", "occurred_at": "1969-12-31T23:59:59Z"}, "occurred_at"),
        ({"kind": "login", "occurred_at": "2100-01-01T00:00:00Z"}, "occurred_at"),
        ({"kind": "login", "event_id": ""}, "event_id"),
        ({"kind": "login", "event_id": "e\ud800"}, "event_id"),
        ({"kind": "login", "colour": "red"}, "colour"),
    ],
)
def test_post_invalid_event_names_the_field(api, ann, event, field):
    response = _post_one(api, ann, **{"occurred_at": T, **event})

    assert response.status_code == 422
    assert field in response.json["errors"], response.json


def test_post_event_without_occurred_at_is_422(api, ann):
    response = _post_one(api, ann, kind="login")

    assert response.status_code == 422
    assert "occurred_at" in response.json["errors"]


@pytest.mark.parametrize(
    "event",
    [
        {"kind": "support_contact"},
        {"kind": "support_contact", "value": 1},
        {"kind": "review", "value": 5},
        {"kind": "nps", "value": 0},
        {"kind": "nps", "value": 10},
        {"kind": "email_click"},
        {"kind": "other", "label": "webinar", "value": -3},
    ],
)
def test_post_valid_event_of_each_kind(api, ann, event):
    assert _post_one(api, ann, occurred_at=T, **event).status_code == 201


# --- batches ----------------------------------------------------------------


def test_batch_reports_each_item_in_order(api):
    put_customers(api, "ann", "bob")

    body = _batch(
        api,
        {"customer": "ann", "kind": "login", "occurred_at": T},
        {"customer": "bob", "kind": "nps", "value": 10, "occurred_at": T, "event_id": "e-1"},
    )

    assert body["summary"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert [(r["index"], r["key"], r["status"]) for r in body["results"]] == [
        (0, "ann", "created"),
        (1, "e-1", "created"),
    ]


def test_batch_with_bad_items_applies_the_good_ones(api, ann):
    body = _batch(
        api,
        {"customer": ann, "kind": "nps", "value": 11, "occurred_at": T},
        {"customer": ann, "kind": "login", "occurred_at": T, "event_id": "good"},
        {"customer": "nobody", "kind": "login", "occurred_at": T},
        "not an object",
    )

    assert body["summary"] == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 3}
    results = body["results"]
    assert results[0]["status"] == "rejected"
    assert "value" in results[0]["errors"]
    assert results[1]["status"] == "created"
    assert results[2]["errors"] == {"customer": ["Unknown customer."]}
    assert results[3]["errors"] == {"_schema": ["Not an object."]}
    assert [e["event_id"] for e in _export_events(api, ann)] == ["good"]


def test_batch_repost_is_unchanged(api, ann):
    items = [
        {"customer": ann, "kind": "review", "value": 4, "occurred_at": T, "event_id": f"r-{n}"}
        for n in range(3)
    ]
    _batch(api, *items)

    body = _batch(api, *items)

    assert body["summary"] == {"created": 0, "updated": 0, "unchanged": 3, "rejected": 0}
    assert len(_export_events(api, ann)) == 3


def test_batch_duplicate_event_id_within_batch_is_stored_once(api, ann):
    item = {"customer": ann, "kind": "login", "occurred_at": T, "event_id": "dup"}

    body = _batch(api, item, item)

    assert [r["status"] for r in body["results"]] == ["created", "unchanged"]
    assert len(_export_events(api, ann)) == 1


def test_batch_of_1000_items_is_accepted(api, ann):
    items = [
        {"customer": ann, "kind": "login", "occurred_at": T, "event_id": f"e-{n}"}
        for n in range(1000)
    ]

    assert _batch(api, *items)["summary"]["created"] == 1000


def test_batch_over_1000_items_is_422(api, ann):
    items = [{"customer": ann, "kind": "login", "occurred_at": T}] * 1001

    response = api.post("/api/v1/events", json={"items": items})

    assert response.status_code == 422
    assert "items" in response.json["errors"]
    assert _export_events(api, ann) == []


@pytest.mark.parametrize("body", [{}, {"items": []}, {"items": {"a": 1}}, {"items": [], "x": 1}])
def test_batch_without_a_list_of_items_is_422(api, body):
    response = api.post("/api/v1/events", json=body)

    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
