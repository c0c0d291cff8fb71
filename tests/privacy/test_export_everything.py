"""GET /api/v1/customers/{id}/export: everything held about the person, by kind.

Generic part: every table of the metadata that refers to a customer must be shown in the
export (advocacy.privacy.export.EXPORT_SOURCES), with as many items as it has rows about
the person; a table added later fails here until the export shows it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from advocacy.extensions import db
from advocacy.privacy.export import EXPORT_SOURCES
from tests.privacy.conftest import CRM_ID, EMAIL_NORMALIZED, IP, USER_AGENT, Person


def _customer_columns(table: Any) -> list[Any]:
    """The columns of ``table`` naming a customer: foreign keys to customers.id, and
    ``customer_id`` columns kept without one (bulk-written derived rows)."""
    return [
        column
        for column in table.columns
        if any(fk.column.table.name == "customers" for fk in column.foreign_keys)
        or (column.name == "customer_id" and table.name != "customers")
    ]


def _rows_about(session: Any, table: Any, person_id: int) -> int:
    if table.name == "customers":
        return 1
    columns = _customer_columns(table)
    query = select(func.count()).select_from(table).where(or_(*(c == person_id for c in columns)))
    return int(session.scalar(query))


def _items(export: dict[str, Any], path: str) -> list[Any]:
    value: Any = export
    for part in path.split("."):
        value = value[part]
    return value if isinstance(value, list) else [value]


def _tables_about_customers() -> list[Any]:
    return [t for t in db.metadata.sorted_tables if t.name == "customers" or _customer_columns(t)]


def test_every_table_about_customers_is_in_the_export():
    assert sorted(t.name for t in _tables_about_customers()) == sorted(EXPORT_SOURCES)


def test_the_export_shows_every_row_held_about_the_person(api, session, person: Person):
    export = api.get(f"/api/v1/customers/{CRM_ID}/export").json

    missing = {}
    for table in _tables_about_customers():
        held = _rows_about(session, table, person.id)
        shown = sum(len(_items(export, path)) for path in EXPORT_SOURCES[table.name])
        if held == 0 or shown < held:
            missing[table.name] = (held, shown)
    assert missing == {}


def test_the_export_has_every_kind(api, person: Person):
    export = api.get(f"/api/v1/customers/{CRM_ID}/export").json

    empty = [kind for kind, value in export.items() if not value]
    assert empty == []
    assert set(export) == {
        "customer",
        "events",
        "mentions",
        "connections",
        "conversions",
        "referrals",
        "rewards",
        "links",
        "invitations",
        "enrollments",
        "experiment_assignments",
        "ranking",
        "shares",
        "clicks",
    }


def test_the_export_shows_their_conversion_evidence_and_their_own_clicks(api, person: Person):
    export = api.get(f"/api/v1/customers/{CRM_ID}/export").json

    (conversion,) = export["conversions"]
    assert (conversion["event_id"], conversion["user_agent"]) == ("order-z1", USER_AGENT)
    assert conversion["visitor_id"] == person.visitor_id
    assert conversion["ip_hash"] == person.ip_hash
    (own_click,) = export["clicks"]
    assert (own_click["visitor_id"], own_click["user_agent"]) == (person.visitor_id, USER_AGENT)
    assert IP not in str(export)


def test_the_export_shows_both_roles_rewards_and_balance(api, person: Person):
    export = api.get(f"/api/v1/customers/{CRM_ID}/export").json

    assert sorted(r["role"] for r in export["referrals"]) == ["invitee", "inviter"]
    assert sorted(r["role"] for r in export["rewards"]["items"]) == ["invitee", "inviter"]
    approved = sum(
        r["amount"] for r in export["rewards"]["items"] if r["state"] in ("approved", "issued")
    )
    assert export["rewards"]["balance"] == [{"unit": "EUR", "amount": approved}]


def test_the_export_shows_links_invitations_and_the_ranking_explained(api, person: Person):
    export = api.get(f"/api/v1/customers/{CRM_ID}/export").json

    assert [link["id"] for link in export["links"]] == [person.own_link["id"]]
    assert export["links"][0]["clicks"] == 1
    assert sorted(i["id"] for i in export["invitations"]) == sorted(
        [person.invitation["id"], person.invitation_by_id["id"]]
    )
    assert EMAIL_NORMALIZED in [i["invitee"] for i in export["invitations"]]
    latest = export["ranking"]["latest"]
    assert set(latest) == {"awareness", "consideration", "conversion"}
    assert latest["conversion"]["reasons"]
    assert export["experiment_assignments"][0]["variant"] in ("one_way", "two_way")
    assert export["shares"][0]["share_id"] == "share-1"
