"""Erasure (DELETE) and data export of one person."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, or_, select

from advocacy.customers.models import Connection, Customer, EngagementEvent, Mention
from advocacy.extensions import db
from tests.factories import put_customers

T = "2024-05-01T12:00:00Z"
PERSON = "zed-42"
EMAIL = "Zebediah.Quillfeather@example.org"
TRACES = ("zebediah", "quillfeather", PERSON)


@pytest.fixture
def person(api):
    """A customer with every kind of data held about them, and two friends."""
    put_customers(api, "ann", "bob")
    body = {
        "email": EMAIL,
        "first_name": "Zebediah",
        "last_name": "Quillfeather",
        "locale": "en-GB",
        "followers": 42,
        "consent": {"email": True, "sms": True, "social": True},
        "attributes": {"nickname": "Zebediah Q", "city": "Quillfeather Cove"},
    }
    assert api.put(f"/api/v1/customers/{PERSON}", json=body).status_code == 200
    events = [
        {
            "customer": PERSON,
            "kind": "purchase",
            "amount": 4200,
            "currency": "EUR",
            "occurred_at": T,
            "event_id": "order-1",
        },
        {"customer": PERSON, "kind": "nps", "value": 10, "occurred_at": T},
    ]
    assert api.post("/api/v1/events", json={"items": events}).json["summary"]["created"] == 2
    mentions = [
        {
            "external_id": "tw-1",
            "channel": "x",
            "customer": PERSON,
            "text": "Zebediah Quillfeather here: I love it",
            "occurred_at": T,
        },
        {
            "external_id": "tw-2",
            "channel": "x",
            "customer": "ann",
            "text": "meh",
            "sentiment": 0,
            "occurred_at": T,
        },
    ]
    assert api.post("/api/v1/mentions", json={"items": mentions}).json["summary"]["created"] == 2
    connections = [
        {"source": PERSON, "target": "ann", "channel": "x", "likes": 3},
        {"source": "bob", "target": PERSON, "channel": "x", "replies": 1},
        {"source": "ann", "target": "bob", "channel": "x", "shares": 2},
    ]
    assert api.post("/api/v1/connections", json={"items": connections}).status_code == 200
    return db.session.scalar(select(Customer.id).where(Customer.external_id == PERSON))


# --- export ----------------------------------------------------------------


def test_export_has_the_customer_record(api, person):
    exported = api.get(f"/api/v1/customers/{PERSON}/export").json

    assert exported["customer"]["email"] == EMAIL
    assert exported["customer"]["first_name"] == "Zebediah"
    assert exported["customer"]["attributes"]["nickname"] == "Zebediah Q"


def test_export_has_their_events(api, person):
    events = api.get(f"/api/v1/customers/{PERSON}/export").json["events"]

    assert sorted(e["kind"] for e in events) == ["nps", "purchase"]


def test_export_has_only_their_mentions(api, person):
    mentions = api.get(f"/api/v1/customers/{PERSON}/export").json["mentions"]

    assert [m["external_id"] for m in mentions] == ["tw-1"]
    assert mentions[0]["text"] == "Zebediah Quillfeather here: I love it"


def test_export_has_their_connections_both_ways(api, person):
    connections = api.get(f"/api/v1/customers/{PERSON}/export").json["connections"]

    assert sorted((c["source"], c["target"], c["direction"]) for c in connections) == [
        ("bob", PERSON, "in"),
        (PERSON, "ann", "out"),
    ]


def test_export_of_unknown_customer_is_404(api):
    assert api.get("/api/v1/customers/nobody/export").status_code == 404


# --- erasure ---------------------------------------------------------------


def _every_stored_value(session):
    for table in db.metadata.sorted_tables:
        for row in session.execute(select(table)):
            for column, value in zip(table.columns, row, strict=True):
                if value is not None:
                    yield table.name, column.name, value


def test_erasure_leaves_no_trace_of_name_email_or_crm_id_in_any_table(api, session, person):
    assert api.delete(f"/api/v1/customers/{PERSON}").status_code == 204

    found = []
    for table, column, value in _every_stored_value(session):
        text = json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)
        found += [(table, column, t) for t in TRACES if t.lower() in text.lower()]
    assert found == []


def test_erasure_scan_would_see_the_person_before_erasure(session, person):
    """The scan above is only as good as its reach: before DELETE it finds the person."""
    hits = {
        (table, column)
        for table, column, value in _every_stored_value(session)
        if "zebediah" in json.dumps(value, default=str).lower()
    }

    assert {("customers", "email"), ("customers", "first_name"), ("mentions", "text")} <= hits


def test_erasure_removes_connections_at_either_end(api, session, person):
    api.delete(f"/api/v1/customers/{PERSON}")

    remaining = session.scalars(
        select(Connection).where(
            or_(Connection.source_id == person, Connection.target_id == person)
        )
    ).all()
    assert remaining == []


def test_erasure_keeps_connections_between_others(api, person):
    api.delete(f"/api/v1/customers/{PERSON}")

    (edge,) = api.get("/api/v1/customers/ann/connections").json["items"]
    assert (edge["source"], edge["target"]) == ("ann", "bob")


def test_erasure_clears_the_text_of_their_mentions(api, session, person):
    api.delete(f"/api/v1/customers/{PERSON}")

    texts = session.scalars(select(Mention.text).where(Mention.customer_id == person)).all()
    assert texts == [None]


def test_erasure_keeps_other_peoples_mention_texts(api, person):
    api.delete(f"/api/v1/customers/{PERSON}")

    assert api.get("/api/v1/customers/ann/export").json["mentions"][0]["text"] == "meh"


def test_erasure_keeps_events_under_a_pseudonym(api, session, person):
    api.delete(f"/api/v1/customers/{PERSON}")

    amount = session.scalar(
        select(func.sum(EngagementEvent.amount)).where(EngagementEvent.customer_id == person)
    )
    count = session.scalar(select(func.count()).where(EngagementEvent.customer_id == person))
    pseudonym = session.get(Customer, person)
    assert (amount, count) == (4200, 2)
    assert pseudonym.external_id.startswith("~")
    assert pseudonym.erased_at is not None
    assert pseudonym.consent == {"email": False, "sms": False, "social": False}


def test_erased_customer_is_404_everywhere(api, person):
    api.delete(f"/api/v1/customers/{PERSON}")

    for url in ("", "/export", "/connections"):
        assert api.get(f"/api/v1/customers/{PERSON}{url}").status_code == 404
    assert api.delete(f"/api/v1/customers/{PERSON}").status_code == 404
    event = {"kind": "login", "occurred_at": T}
    assert api.post(f"/api/v1/customers/{PERSON}/events", json=event).status_code == 404


def test_erased_customer_cannot_be_reached_by_pseudonym(api, session, person):
    api.delete(f"/api/v1/customers/{PERSON}")
    pseudonym = session.get(Customer, person).external_id

    assert api.get(f"/api/v1/customers/{pseudonym}").status_code == 404


def test_batches_no_longer_resolve_an_erased_customer(api, person):
    api.delete(f"/api/v1/customers/{PERSON}")
    item = {"customer": PERSON, "kind": "login", "occurred_at": T}

    body = api.post("/api/v1/events", json={"items": [item]}).json

    assert body["results"][0]["errors"] == {"customer": ["Unknown customer."]}


def test_put_after_erasure_creates_a_fresh_customer(api, person):
    api.delete(f"/api/v1/customers/{PERSON}")

    response = api.put(f"/api/v1/customers/{PERSON}", json={"first_name": "Zed"})

    assert response.json["status"] == "created"
    assert response.json["customer"]["email"] is None
    assert response.json["customer"]["attributes"] == {}
    exported = api.get(f"/api/v1/customers/{PERSON}/export").json
    assert (exported["events"], exported["mentions"], exported["connections"]) == ([], [], [])
