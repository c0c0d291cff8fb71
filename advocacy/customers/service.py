"""Writing and reading customers, events, mentions and connections.

Every function takes a session and a workspace id; it adds and flushes, never
commits. The batch writers take already validated items (see ``schemas``) and
do one SELECT and at most one INSERT and one UPDATE per call, whatever the
batch size, so imports of 100k rows never build 100k ORM objects.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select, text, update

from advocacy.customers import sentiment
from advocacy.customers.emails import normalize_email
from advocacy.customers.models import Connection, Customer, EngagementEvent, Mention
from advocacy.errors import NotFound, found
from advocacy.pagination import page_by_id, page_by_time
from advocacy.types import DbSession, utcnow

CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"
UNKNOWN_CUSTOMER = "Unknown customer."


@dataclass(frozen=True)
class Outcome:
    status: str
    errors: dict[str, list[str]] | None = None


def _rejected(field: str, message: str) -> Outcome:
    return Outcome(REJECTED, {field: [message]})


Key = tuple[Any, ...]
Entry = tuple[Key, dict[str, Any]] | Outcome


def _upsert(
    session: DbSession,
    model: Any,
    workspace_id: int,
    key_columns: tuple[str, ...],
    value_columns: tuple[str, ...],
    entries: Sequence[Entry],
) -> list[Outcome]:
    """The one upsert behind every batch writer.

    ``entries`` are, per item, its natural key and values, or an Outcome already decided
    (a rejected item). One SELECT finds the existing rows, then one INSERT and one UPDATE
    (by primary key) apply the batch; the last of duplicate keys in a batch wins.
    """
    keys = {entry[0] for entry in entries if not isinstance(entry, Outcome)}
    current: dict[Key, dict[str, Any]] = {}
    row_ids: dict[Key, int] = {}
    if keys:
        key_attrs = [getattr(model, c) for c in key_columns]
        # Filter on each key column with IN, which uses the unique index (a row-value IN
        # list does not), then keep exact matches.
        conditions = [attr.in_({key[i] for key in keys}) for i, attr in enumerate(key_attrs)]
        rows = session.execute(
            select(model.id, *key_attrs, *[getattr(model, c) for c in value_columns]).where(
                model.workspace_id == workspace_id, *conditions
            )
        )
        for row in rows:
            key = tuple(getattr(row, c) for c in key_columns)
            if key in keys:
                row_ids[key] = row.id
                current[key] = {c: getattr(row, c) for c in value_columns}
    new: dict[Key, dict[str, Any]] = {}
    changed: dict[Key, dict[str, Any]] = {}
    outcomes = []
    for entry in entries:
        if isinstance(entry, Outcome):
            outcomes.append(entry)
            continue
        key, values = entry
        if key in new:
            outcomes.append(Outcome(UNCHANGED if new[key] == values else UPDATED))
            new[key] = values
        elif key in current:
            status = UNCHANGED if current[key] == values else UPDATED
            if status == UPDATED:
                changed[key] = current[key] = values
            outcomes.append(Outcome(status))
        else:
            new[key] = values
            outcomes.append(Outcome(CREATED))
    now = utcnow()
    stamps = {"created_at": now}
    if hasattr(model, "updated_at"):
        stamps["updated_at"] = now
    if new:
        session.execute(
            insert(model.__table__),
            [
                {
                    "workspace_id": workspace_id,
                    **dict(zip(key_columns, k, strict=True)),
                    **stamps,
                    **v,
                }
                for k, v in new.items()
            ],
        )
    if changed:
        touched = {"updated_at": now} if hasattr(model, "updated_at") else {}
        session.execute(
            update(model), [{"id": row_ids[k], **touched, **v} for k, v in changed.items()]
        )
    return outcomes


# --- customers -------------------------------------------------------------

CUSTOMER_COLUMNS = (
    "email",
    "email_normalized",
    "first_name",
    "last_name",
    "locale",
    "followers",
    "consent_email",
    "consent_sms",
    "consent_social",
    "attributes",
)


def _customer_values(item: dict[str, Any]) -> dict[str, Any]:
    consent = item.get("consent") or {}
    email = item.get("email")
    return {
        "email": email,
        "email_normalized": normalize_email(email) if email else None,
        "first_name": item.get("first_name"),
        "last_name": item.get("last_name"),
        "locale": item.get("locale"),
        "followers": item.get("followers"),
        "consent_email": bool(consent.get("email", False)),
        "consent_sms": bool(consent.get("sms", False)),
        "consent_social": bool(consent.get("social", False)),
        "attributes": item.get("attributes") or {},
    }


def upsert_customers(
    session: DbSession, *, workspace_id: int, items: Sequence[dict[str, Any]]
) -> list[Outcome]:
    """Create or replace customers by ``external_id``; the last of duplicates wins."""
    entries: list[Entry] = [((item["external_id"],), _customer_values(item)) for item in items]
    return _upsert(session, Customer, workspace_id, ("external_id",), CUSTOMER_COLUMNS, entries)


def resolve_customer_ids(
    session: DbSession, *, workspace_id: int, external_ids: Iterable[str | None]
) -> dict[str, int]:
    """Map external ids to row ids; erased and unknown ones are simply absent."""
    wanted = {e for e in external_ids if e}
    if not wanted:
        return {}
    rows = session.execute(
        select(Customer.external_id, Customer.id).where(
            Customer.workspace_id == workspace_id, Customer.external_id.in_(wanted)
        )
    )
    return {row.external_id: row.id for row in rows}


def get_customer(session: DbSession, *, workspace_id: int, external_id: str) -> Customer:
    if "\x00" in external_id:  # no customer has one, and PostgreSQL refuses NUL in a query
        raise NotFound(f"No customer {external_id!r} in this workspace.")
    customer = session.scalar(
        select(Customer).where(
            Customer.workspace_id == workspace_id,
            Customer.external_id == external_id,
            Customer.erased_at.is_(None),
        )
    )
    return found(customer, f"No customer {external_id!r} in this workspace.")


def list_customers(
    session: DbSession,
    *,
    workspace_id: int,
    limit: int,
    cursor: str | None = None,
    updated_since: datetime | None = None,
) -> tuple[list[Customer], str | None]:
    """Customers in (updated_at, id) order: a sync can resume from its last cursor."""
    query = select(Customer).where(
        Customer.workspace_id == workspace_id, Customer.erased_at.is_(None)
    )
    if updated_since is not None:
        query = query.where(Customer.updated_at >= updated_since)
    return page_by_time(
        session, query, Customer.updated_at, Customer.id, limit=limit, cursor=cursor
    )


# --- engagement events ----------------------------------------------------

EVENT_COLUMNS = ("customer_id", "kind", "label", "value", "amount", "currency", "occurred_at")


def event_key(values: dict[str, Any]) -> str:
    """A stable id for an event the CRM sent without one, from what it says.

    Re-sending the same facts (same customer, kind, values and instant) is then the same
    event, so imports stay idempotent. '~' marks derived ids: CRM ids cannot start with it.
    """
    occurred = values["occurred_at"]
    facts = [values[c] for c in EVENT_COLUMNS if c != "occurred_at"]
    digest = hashlib.sha256(json.dumps([*facts, occurred.isoformat()]).encode()).hexdigest()
    return "~" + digest[:40]


def record_events(
    session: DbSession, *, workspace_id: int, items: Sequence[dict[str, Any]]
) -> list[Outcome]:
    """Record CRM events by ``event_id`` (derived from the content when absent):
    an event seen before is updated or left unchanged, never duplicated."""
    customers = resolve_customer_ids(
        session, workspace_id=workspace_id, external_ids=(i["customer"] for i in items)
    )
    prepared: list[Entry] = []
    for item in items:
        customer_id = customers.get(item["customer"])
        if customer_id is None:
            prepared.append(_rejected("customer", UNKNOWN_CUSTOMER))
            continue
        values = {"customer_id": customer_id, **{c: item.get(c) for c in EVENT_COLUMNS[1:]}}
        prepared.append(((item.get("event_id") or event_key(values),), values))
    return _upsert(session, EngagementEvent, workspace_id, ("event_id",), EVENT_COLUMNS, prepared)


# --- mentions -------------------------------------------------------------

MENTION_COLUMNS = (
    "channel",
    "customer_id",
    "text",
    "language",
    "sentiment",
    "sentiment_source",
    "reach",
    "occurred_at",
)


def record_mentions(
    session: DbSession, *, workspace_id: int, items: Sequence[dict[str, Any]]
) -> list[Outcome]:
    """Upsert mentions by ``external_id``, scoring text that came without a sentiment."""
    customers = resolve_customer_ids(
        session, workspace_id=workspace_id, external_ids=(i.get("customer") for i in items)
    )
    entries: list[Entry] = []
    for item in items:
        customer_id = None
        if item.get("customer"):
            customer_id = customers.get(item["customer"])
            if customer_id is None:
                entries.append(_rejected("customer", UNKNOWN_CUSTOMER))
                continue
        if item.get("sentiment") is not None:
            score, source = float(item["sentiment"]), "provided"
        else:
            score, source = sentiment.score_text(item["text"]), sentiment.SOURCE
        values = {
            "channel": item["channel"],
            "customer_id": customer_id,
            "text": item.get("text"),
            "language": item.get("language"),
            "sentiment": score,
            "sentiment_source": source,
            "reach": item.get("reach"),
            "occurred_at": item["occurred_at"],
        }
        entries.append(((item["external_id"],), values))
    return _upsert(session, Mention, workspace_id, ("external_id",), MENTION_COLUMNS, entries)


# --- connections ----------------------------------------------------------

CONNECTION_COLUMNS = (
    "replies",
    "likes",
    "shares",
    "messages",
    "follows",
    "sentiment",
    "last_interaction_at",
)


def upsert_connections(
    session: DbSession, *, workspace_id: int, items: Sequence[dict[str, Any]]
) -> list[Outcome]:
    """Upsert directed edges by (source, target, channel); counts are absolute, not added."""
    customers = resolve_customer_ids(
        session,
        workspace_id=workspace_id,
        external_ids=[i["source"] for i in items] + [i["target"] for i in items],
    )
    entries: list[Entry] = []
    for item in items:
        source, target = customers.get(item["source"]), customers.get(item["target"])
        if source is None:
            entries.append(_rejected("source", UNKNOWN_CUSTOMER))
        elif target is None:
            entries.append(_rejected("target", UNKNOWN_CUSTOMER))
        else:
            values = {c: item.get(c) for c in CONNECTION_COLUMNS}
            entries.append(((source, target, item["channel"]), values))
    return _upsert(
        session,
        Connection,
        workspace_id,
        ("source_id", "target_id", "channel"),
        CONNECTION_COLUMNS,
        entries,
    )


@dataclass(frozen=True)
class ConnectionView:
    """A tie seen from one customer: ``out`` when they are its source."""

    connection: Connection
    source: str
    target: str
    direction: str


def list_connections(
    session: DbSession, *, workspace_id: int, external_id: str, limit: int, cursor: str | None
) -> tuple[list[ConnectionView], str | None]:
    """A customer's ties in both directions, by id."""
    customer = get_customer(session, workspace_id=workspace_id, external_id=external_id)
    query = select(Connection).where(
        Connection.workspace_id == workspace_id,
        or_(Connection.source_id == customer.id, Connection.target_id == customer.id),
    )
    rows, next_cursor = page_by_id(session, query, Connection.id, limit=limit, cursor=cursor)
    names = {
        row.id: row.external_id
        for row in session.execute(
            select(Customer.id, Customer.external_id).where(
                Customer.id.in_({r.source_id for r in rows} | {r.target_id for r in rows})
            )
        )
    }
    items = [
        ConnectionView(
            r,
            source=names[r.source_id],
            target=names[r.target_id],
            direction="out" if r.source_id == customer.id else "in",
        )
        for r in rows
    ]
    return items, next_cursor


_TABLES = {
    "customers": ("customers",),
    "events": ("customers", "engagement_events"),
    "mentions": ("customers", "mentions"),
    "connections": ("customers", "connections"),
}


def refresh_statistics(session: DbSession, *, kind: str) -> None:
    """ANALYZE the tables a bulk load of ``kind`` reads (PostgreSQL; a no-op elsewhere).

    PostgreSQL's ANALYZE counts rows the current transaction inserted, so a long import
    keeps good plans for its own lookups.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in _TABLES[kind]:
        session.execute(text(f"ANALYZE {table}"))
