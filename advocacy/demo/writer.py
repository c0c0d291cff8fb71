"""Writes a generated demo population into a workspace, fast.

The data comes from :mod:`advocacy.demo.population` (pure numpy, deterministic per seed);
this module writes it in chunks (a Core INSERT executemany per chunk, COPY on
PostgreSQL; never an ORM object per row), then hands the program plan to
:mod:`advocacy.demo.campaign`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import JSON, Table, insert, select
from sqlalchemy import column as lightweight_column
from sqlalchemy import table as lightweight_table
from sqlalchemy.orm import Session

from advocacy.customers.emails import normalize_email
from advocacy.customers.models import Connection, Customer, EngagementEvent, Mention
from advocacy.customers.sentiment import SOURCE as VADER
from advocacy.demo.campaign import ProgramCounts, write_program
from advocacy.demo.population import (
    CURRENCY,
    EVENT_KINDS,
    MENTION_CHANNELS,
    SOCIAL_CHANNELS,
    DemoData,
)
from advocacy.types import UTCDateTime, utcnow

CHUNK = 10_000


@dataclass(frozen=True)
class DemoCounts:
    customers: int
    events: int
    mentions: int
    connections: int
    program: ProgramCounts


def demo_anchor(now: datetime | None = None) -> datetime:
    """Today at midnight UTC: demo times are offsets before it."""
    now = now or utcnow()
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Secrets:
    """What the demo signs and hashes with: the app's link keys and SECRET_KEY."""

    signing_keys: Sequence[str]
    ip_key: bytes

    @classmethod
    def from_app(cls) -> Secrets:
        config = current_app.config
        return cls(config["REFERRAL_SIGNING_KEYS"], config["SECRET_KEY"].encode())


def write_demo(
    session: Session, workspace_id: int, data: DemoData, anchor: datetime, secrets: Secrets
) -> DemoCounts:
    """Bulk-insert generated data into a workspace; customer ids are resolved once."""
    sink = _Sink(session, anchor)
    sink.write(Customer, _customer_rows(workspace_id, data, sink))
    rows = session.execute(
        select(Customer.external_id, Customer.id).where(Customer.workspace_id == workspace_id)
    )
    by_external_id = {external_id: row_id for external_id, row_id in rows}
    ids = np.array([by_external_id[e] for e in data.customers.external_id], dtype=np.int64)
    sink.write(EngagementEvent, _event_rows(workspace_id, data, ids, sink))
    sink.write(Mention, _mention_rows(workspace_id, data, ids, sink))
    sink.write(Connection, _connection_rows(workspace_id, data, ids, sink))
    program = write_program(
        session,
        sink,
        workspace_id=workspace_id,
        data=data,
        ids=ids,
        signing_keys=secrets.signing_keys,
        ip_key=secrets.ip_key,
    )
    return DemoCounts(
        customers=data.n,
        events=len(data.events.customer),
        mentions=len(data.mentions.customer),
        connections=len(data.connections.source),
        program=program,
    )


Rows = Iterator[list[dict[str, Any]]]


class _Sink:
    """Writes rows in chunks the fastest way the database allows, in the session's transaction.

    * Core ``INSERT`` executemany, one per chunk: the portable path. It inserts into the
      table, not through the ORM bulk path, which splits a batch wherever the set of None
      columns changes (thousands of INSERTs instead of one executemany).
    * SQLite: the same INSERT, but with timestamps already rendered as the text SQLAlchemy
      stores (numpy formats a whole chunk at once) and no per-value type processing, which
      otherwise costs about as much as SQLite's own work. Used only after checking that
      our text equals what the column type would have written.
    * PostgreSQL with psycopg: COPY. executemany costs a statement round per row there,
      about 3x slower than COPY for these tables.
    """

    def __init__(self, session: Session, anchor: datetime) -> None:
        self.session = session
        self.connection = session.connection()
        dialect = self.connection.dialect
        self.anchor = anchor
        self.now = utcnow()
        self.mode = write_mode(dialect, anchor, self.now)
        self.now_value: Any = self.stamps(np.zeros(1, dtype=np.int64), now=True)[0]

    def stamps(self, seconds: np.ndarray, *, now: bool = False) -> list[Any]:
        """Column values for times ``seconds`` after the anchor (or for now)."""
        base = self.now if now else self.anchor
        if self.mode == "sqlite-text":
            return _sqlite_text(base, seconds)
        return [base + timedelta(seconds=s) for s in seconds.tolist()]

    def write(self, model: Any, chunks: Rows) -> None:
        table: Table = model.__table__
        if self.mode == "copy":
            self._copy(table, chunks)
            return
        first = next(chunks, None)
        if not first:
            return
        if self.mode == "sqlite-text":
            as_json = [c for c in first[0] if isinstance(table.c[c].type, JSON)]
            # Untyped columns: the values are already what SQLite stores.
            target: Any = lightweight_table(table.name, *(lightweight_column(c) for c in first[0]))
        else:
            as_json, target = [], table
        statement = insert(target)
        for rows in itertools.chain([first], chunks):
            if as_json:
                for row in rows:
                    row.update({c: json.dumps(row[c]) for c in as_json})
            self.session.execute(statement, rows)

    def _copy(self, table: Table, chunks: Rows) -> None:
        first = next(chunks, None)
        if not first:
            return
        columns = list(first[0])
        as_json = {c for c in columns if isinstance(table.c[c].type, JSON)}
        quote = self.connection.dialect.identifier_preparer.quote
        sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        driver = self.connection.connection.driver_connection
        assert driver is not None, "a connection in a transaction has a driver connection"
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for rows in itertools.chain([first], chunks):
                for row in rows:
                    copy.write_row(
                        [json.dumps(row[c]) if c in as_json else row[c] for c in columns]
                    )


def write_mode(dialect: Any, anchor: datetime, now: datetime) -> str:
    """``copy``, ``sqlite-text`` or ``core``: see :class:`_Sink`."""
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        return "copy"
    if dialect.name == "sqlite" and _sqlite_text_matches(dialect, anchor, now):
        return "sqlite-text"
    return "core"


def _sqlite_text(base: datetime, seconds: np.ndarray) -> list[str]:
    start = np.datetime64(base.astimezone(UTC).replace(tzinfo=None), "us")
    moments = start + seconds.astype("timedelta64[s]")
    return np.char.replace(np.datetime_as_string(moments, unit="us"), "T", " ").tolist()


def _sqlite_text_matches(dialect: Any, anchor: datetime, now: datetime) -> bool:
    """Whether our timestamp text is exactly what the columns' type would bind.

    Every timestamp column of these tables is a UTCDateTime.
    """
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return False
    offsets = np.array([0, -1, -86_399, -730 * 86_400], dtype=np.int64)
    expected = [process(anchor + timedelta(seconds=int(s))) for s in offsets]
    return expected == _sqlite_text(anchor, offsets) and [process(now)] == _sqlite_text(
        now, np.zeros(1, dtype=np.int64)
    )


def _spans(total: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, total, CHUNK):
        yield lo, min(lo + CHUNK, total)


def _customer_rows(workspace_id: int, data: DemoData, sink: _Sink) -> Rows:
    c = data.customers
    first_day = np.datetime64(sink.anchor.date(), "D")
    now = sink.now_value
    for lo, hi in _spans(data.n):
        since = np.datetime_as_string(first_day - c.since_days[lo:hi].astype("timedelta64[D]"))
        yield [
            {
                "workspace_id": workspace_id,
                "external_id": c.external_id[i],
                "email": c.email[i],
                "email_normalized": normalize_email(c.email[i]),
                "first_name": c.first_name[i],
                "last_name": c.last_name[i],
                "locale": c.locale[i],
                "followers": followers if followers >= 0 else None,
                "consent_email": email,
                "consent_sms": sms,
                "consent_social": social,
                "attributes": {"tier": c.tier[i], "customer_since": day},
                "created_at": now,
                "updated_at": now,
            }
            for i, followers, email, sms, social, day in zip(
                range(lo, hi),
                c.followers[lo:hi].tolist(),
                c.consent_email[lo:hi].tolist(),
                c.consent_sms[lo:hi].tolist(),
                c.consent_social[lo:hi].tolist(),
                since.tolist(),
                strict=True,
            )
        ]


def _event_rows(workspace_id: int, data: DemoData, ids: np.ndarray, sink: _Sink) -> Rows:
    e = data.events
    now = sink.now_value
    for lo, hi in _spans(len(e.customer)):
        yield [
            {
                "workspace_id": workspace_id,
                "customer_id": customer,
                "event_id": f"ev-{number:08d}",
                "kind": EVENT_KINDS[kind],
                "label": None,
                "value": value if value >= 0 else None,
                "amount": amount if amount >= 0 else None,
                "currency": CURRENCY if amount >= 0 else None,
                "occurred_at": at,
                "created_at": now,
            }
            for number, customer, kind, value, amount, at in zip(
                range(lo + 1, hi + 1),
                ids[e.customer[lo:hi]].tolist(),
                e.kind[lo:hi].tolist(),
                e.value[lo:hi].tolist(),
                e.amount[lo:hi].tolist(),
                sink.stamps(e.time[lo:hi]),
                strict=True,
            )
        ]


def _mention_rows(workspace_id: int, data: DemoData, ids: np.ndarray, sink: _Sink) -> Rows:
    m = data.mentions
    now = sink.now_value
    for lo, hi in _spans(len(m.customer)):
        customer_index = m.customer[lo:hi]
        customers = np.where(customer_index >= 0, ids[np.maximum(customer_index, 0)], -1)
        yield [
            {
                "workspace_id": workspace_id,
                "external_id": f"mn-{number:08d}",
                "channel": MENTION_CHANNELS[channel],
                "customer_id": customer if customer >= 0 else None,
                "text": text,
                "language": language,
                "sentiment": sentiment,
                "sentiment_source": VADER if scored else "provided",
                "reach": reach if reach >= 0 else None,
                "occurred_at": at,
                "created_at": now,
                "updated_at": now,
            }
            for number, customer, channel, text, language, sentiment, scored, reach, at in zip(
                range(lo + 1, hi + 1),
                customers.tolist(),
                m.channel[lo:hi].tolist(),
                m.text[lo:hi],
                m.language[lo:hi],
                m.sentiment[lo:hi].tolist(),
                m.scored[lo:hi].tolist(),
                m.reach[lo:hi].tolist(),
                sink.stamps(m.time[lo:hi]),
                strict=True,
            )
        ]


def _connection_rows(workspace_id: int, data: DemoData, ids: np.ndarray, sink: _Sink) -> Rows:
    g = data.connections
    now = sink.now_value
    for lo, hi in _spans(len(g.source)):
        last = g.last_time[lo:hi]
        known = ~np.isnan(last)
        stamps = sink.stamps(np.where(known, last, 0).astype(np.int64))
        last_at = [at if has else None for at, has in zip(stamps, known.tolist(), strict=True)]
        tones = [None if t != t else t for t in g.sentiment[lo:hi].tolist()]  # NaN: unknown
        yield [
            {
                "workspace_id": workspace_id,
                "source_id": source,
                "target_id": target,
                "channel": SOCIAL_CHANNELS[channel],
                "replies": replies,
                "likes": likes,
                "shares": shares,
                "messages": messages,
                "follows": follows,
                "sentiment": tone,
                "last_interaction_at": at,
                "created_at": now,
                "updated_at": now,
            }
            for source, target, channel, replies, likes, shares, messages, follows, tone, at in zip(
                ids[g.source[lo:hi]].tolist(),
                ids[g.target[lo:hi]].tolist(),
                g.channel[lo:hi].tolist(),
                g.replies[lo:hi].tolist(),
                g.likes[lo:hi].tolist(),
                g.shares[lo:hi].tolist(),
                g.messages[lo:hi].tolist(),
                g.follows[lo:hi].tolist(),
                tones,
                last_at,
                strict=True,
            )
        ]
