"""Reading a workspace straight into numpy arrays, without an ORM object per row.

On PostgreSQL the rows arrive through ``COPY ... TO STDOUT (FORMAT binary)`` folded into
arrays: every selected column is fixed-width and never NULL (COALESCE to NaN or -1), so
numpy reads each array with one structured dtype. Elsewhere (SQLite) rows are fetched
in chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select, text

from advocacy.campaigns.models import Campaign, Enrollment
from advocacy.graph.inputs import EVENT_KIND_CODES, RankingInput
from advocacy.graph.learning import History
from advocacy.rewards.models import Referral
from advocacy.types import DbSession

_PG_BINARY_HEADER = 19  # signature (11) + flags (4) + header extension length (4)
_PG_TYPES = {
    "int2": ">i2",
    "int4": ">i4",
    "int8": ">i8",
    "float4": ">f4",
    "float8": ">f8",
    "bool": "?",
}
_FETCH_CHUNK = 50_000


@dataclass(frozen=True)
class Column:
    name: str
    sql: str  # an expression that is never NULL
    pg_type: str  # one of _PG_TYPES


def _epoch(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})::float8"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


def _nan(dialect: str) -> str:
    return "'NaN'::float8" if dialect == "postgresql" else "NULL"


def fetch_columns(
    session: DbSession, columns: Sequence[Column], from_where: str, params: dict[str, Any]
) -> dict[str, np.ndarray]:
    """``SELECT <columns> <from_where>`` as one numpy array per column."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return _fetch_pg_binary(session, columns, from_where, params)
    select_list = ", ".join(c.sql for c in columns)
    result = session.execute(text(f"SELECT {select_list} {from_where}"), params)
    chunks: list[list[tuple[Any, ...]]] = []
    while rows := result.fetchmany(_FETCH_CHUNK):
        chunks.append([tuple(row) for row in rows])
    out: dict[str, np.ndarray] = {}
    for position, column in enumerate(columns):
        dtype = np.dtype(_PG_TYPES[column.pg_type]).newbyteorder("=")
        if dtype.kind == "f":
            values = [np.array([r[position] for r in chunk], dtype=np.float64) for chunk in chunks]
            arrays = [v.astype(dtype) for v in values]
        else:
            arrays = [np.array([r[position] for r in chunk], dtype=dtype) for chunk in chunks]
        out[column.name] = np.concatenate(arrays) if arrays else np.empty(0, dtype=dtype)
    return out


def _fetch_pg_binary(
    session: DbSession, columns: Sequence[Column], from_where: str, params: dict[str, Any]
) -> dict[str, np.ndarray]:
    # PostgreSQL sends one COPY message per row, and a Python step per message would cost
    # more than the data. So rows are folded into arrays of up to 65,536 per column
    # (array_agg over id buckets), and each array is read by numpy in one go.
    aggregates = ", ".join(f"array_agg(({c.sql})::{c.pg_type})" for c in columns)
    query = f"COPY (SELECT {aggregates} {from_where} GROUP BY id >> 16) TO STDOUT (FORMAT binary)"
    driver = session.connection().connection.driver_connection
    parts: dict[str, list[np.ndarray]] = {c.name: [] for c in columns}
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(query, params) as copy:
            data = b"".join(bytes(block) for block in copy)
    extension = int.from_bytes(data[15:19], "big")
    offset = _PG_BINARY_HEADER + extension
    while True:
        count = int.from_bytes(data[offset : offset + 2], "big", signed=True)
        offset += 2
        if count == -1:
            break
        for column in columns:
            length = int.from_bytes(data[offset : offset + 4], "big", signed=True)
            offset += 4
            parts[column.name].append(_read_array(data, offset, column.pg_type))
            offset += length
    return {
        c.name: np.concatenate(parts[c.name])
        if parts[c.name]
        else np.empty(0, dtype=np.dtype(_PG_TYPES[c.pg_type]).newbyteorder("="))
        for c in columns
    }


def _read_array(data: bytes, offset: int, pg_type: str) -> np.ndarray:
    """A one-dimensional PostgreSQL array without NULLs, in binary format, as numpy."""
    ndim = int.from_bytes(data[offset : offset + 4], "big")
    code = _PG_TYPES[pg_type]
    if ndim == 0:
        return np.empty(0, dtype=np.dtype(code).newbyteorder("="))
    size = int.from_bytes(data[offset + 12 : offset + 16], "big")
    element = np.dtype([("length", ">i4"), ("value", code)])
    values = np.frombuffer(data, dtype=element, count=size, offset=offset + 20)["value"]
    return values.astype(values.dtype.newbyteorder("="))


@dataclass
class LoadedWorkspace:
    inp: RankingInput
    customer_ids: np.ndarray  # int64, sorted: index i is customer row customer_ids[i]


def _index(customer_ids: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``values`` in the sorted ``customer_ids``, and which were found."""
    if customer_ids.size == 0:
        return np.zeros(values.size, dtype=np.int32), np.zeros(values.size, dtype=bool)
    position = np.searchsorted(customer_ids, values).clip(0, customer_ids.size - 1)
    return position.astype(np.int32), customer_ids[position] == values


def load_workspace(
    session: DbSession, *, workspace_id: int, now: float, with_signals: bool = True
) -> LoadedWorkspace:
    """A workspace's customers, events, mentions and connections as a ``RankingInput``.

    Erased customers are left out. ``with_signals=False`` loads only customers and
    connections (enough for selection over the graph).
    """
    dialect = session.get_bind().dialect.name
    nan = _nan(dialect)
    ws = {"ws": workspace_id}
    where = "WHERE workspace_id = :ws" if dialect != "postgresql" else "WHERE workspace_id = %(ws)s"
    customers = fetch_columns(
        session,
        [Column("id", "id", "int8"), Column("followers", "COALESCE(followers, -1)", "int8")],
        f"FROM customers {where} AND erased_at IS NULL",
        ws,
    )
    order = np.argsort(customers["id"], kind="stable")
    ids = customers["id"][order].astype(np.int64)
    arrays: dict[str, Any] = {"n": ids.size, "now": now, "followers": customers["followers"][order]}
    arrays.update(_load_connections(session, ids, dialect, f"FROM connections {where}", ws))
    if not with_signals:
        return LoadedWorkspace(RankingInput(**arrays), ids)
    kind_case = " ".join(f"WHEN '{k}' THEN {code}" for k, code in EVENT_KIND_CODES.items())
    event_columns = [
        Column("customer", "customer_id", "int8"),
        Column("kind", f"CASE kind {kind_case} ELSE {EVENT_KIND_CODES['other']} END", "int2"),
        Column("value", f"COALESCE(CAST(value AS float), {nan})", "float8"),
        Column("amount", f"COALESCE(CAST(amount AS float), {nan})", "float8"),
        Column("time", _epoch(dialect, "occurred_at"), "float8"),
    ]
    arrays.update(
        _load_per_customer(
            session, ids, "ev_", event_columns, f"FROM engagement_events {where}", ws
        )
    )
    mention_columns = [
        Column("customer", "customer_id", "int8"),
        Column("sentiment", "sentiment", "float8"),
        Column("time", _epoch(dialect, "occurred_at"), "float8"),
    ]
    mentions_from = f"FROM mentions {where} AND customer_id IS NOT NULL"
    arrays.update(_load_per_customer(session, ids, "m_", mention_columns, mentions_from, ws))
    return LoadedWorkspace(RankingInput(**arrays), ids)


def _load_connections(
    session: DbSession, ids: np.ndarray, dialect: str, from_sql: str, params: dict[str, Any]
) -> dict[str, np.ndarray]:
    """The ``c_`` arrays: connections between two loaded customers, as their positions."""
    return connection_positions(ids, fetch_connections(session, dialect, from_sql, params))


def fetch_connections(
    session: DbSession, dialect: str, from_sql: str, params: dict[str, Any]
) -> dict[str, np.ndarray]:
    """The connection rows of ``from_sql`` (``source`` and ``target`` as customer ids)."""
    nan = _nan(dialect)
    return fetch_columns(
        session,
        [
            Column("source", "source_id", "int8"),
            Column("target", "target_id", "int8"),
            Column("replies", "replies", "int4"),
            Column("likes", "likes", "int4"),
            Column("shares", "shares", "int4"),
            Column("messages", "messages", "int4"),
            Column("follows", "follows", "bool"),
            Column("sentiment", f"COALESCE(sentiment, {nan})", "float8"),
            Column(
                "last_time", f"COALESCE({_epoch(dialect, 'last_interaction_at')}, {nan})", "float8"
            ),
        ],
        from_sql,
        params,
    )


def connection_positions(ids: np.ndarray, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``fetch_connections`` rows between two of ``ids`` (sorted), ends as positions in it."""
    connections = dict(rows)
    source, found_s = _index(ids, connections.pop("source"))
    target, found_t = _index(ids, connections.pop("target"))
    keep = found_s & found_t
    return {
        "c_source": source[keep],
        "c_target": target[keep],
        **{f"c_{name}": values[keep] for name, values in connections.items()},
    }


def _load_per_customer(
    session: DbSession,
    ids: np.ndarray,
    prefix: str,
    columns: list[Column],
    from_sql: str,
    params: dict[str, Any],
) -> dict[str, np.ndarray]:
    """The rows of loaded customers, one ``prefix + name`` array per column; the
    ``customer`` column becomes the customer's position in ``ids``."""
    rows = fetch_columns(session, columns, from_sql, params)
    index, found = _index(ids, rows.pop("customer"))
    return {
        f"{prefix}customer": index[found],
        **{f"{prefix}{name}": values[found] for name, values in rows.items()},
    }


@dataclass
class LoadedHistory:
    """Past invitations: per customer totals (the track record) and, for the fit, one row
    per enrollment in an ended campaign with the conversions it brought."""

    invites: np.ndarray  # per customer: referral links made (invitations sent)
    clicks: np.ndarray  # per customer: unique visits on their links
    conversions: np.ndarray  # per customer: attributed conversions not rejected
    history: History


def load_history(
    session: DbSession, *, workspace_id: int, customer_ids: np.ndarray, now: float
) -> LoadedHistory:
    """Invitation history of a workspace, indexed like ``customer_ids`` (sorted)."""
    n = customer_ids.size
    ws = {"ws": workspace_id}

    def per_customer(sql: str) -> np.ndarray:
        rows = session.execute(text(sql), ws).all()
        out = np.zeros(n, dtype=np.int64)
        if rows:
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            index, found = _index(customer_ids, ids)
            out[index[found]] = np.array([r[1] for r in rows], dtype=np.int64)[found]
        return out

    invites = per_customer(
        "SELECT advocate_id, count(*) FROM referral_links WHERE workspace_id = :ws "
        "GROUP BY advocate_id"
    )
    clicks = per_customer(
        "SELECT l.advocate_id, count(*) FROM clicks c JOIN referral_links l ON l.id = c.link_id "
        "WHERE c.workspace_id = :ws AND c.unique_visit GROUP BY l.advocate_id"
    )
    conversions = per_customer(
        "SELECT advocate_id, count(*) FROM referrals WHERE workspace_id = :ws "
        "AND state != 'rejected' GROUP BY advocate_id"
    )
    # Enrollments in campaigns that have ended (their outcomes are complete), with what each
    # brought in its campaign.
    rows = session.execute(
        select(
            Enrollment.customer_id,
            Enrollment.campaign_id,
            Enrollment.enrolled_at,
            select(func.count())
            .where(
                Referral.campaign_id == Enrollment.campaign_id,
                Referral.advocate_id == Enrollment.customer_id,
                Referral.state != "rejected",
            )
            .correlate(Enrollment)
            .scalar_subquery(),
        )
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .where(
            Enrollment.workspace_id == workspace_id,
            (Campaign.status == "ended") | (Campaign.ends_at < datetime.fromtimestamp(now, UTC)),
        )
    ).all()
    customer = np.array([r[0] for r in rows], dtype=np.int64)
    index, found = _index(customer_ids, customer)
    history = History(
        customer=index[found].astype(np.int64),
        time=np.array([r[2].timestamp() for r in rows], dtype=np.float64)[found]
        if rows
        else np.empty(0),
        conversions=np.array([r[3] for r in rows], dtype=np.int64)[found]
        if rows
        else np.empty(0, dtype=np.int64),
        campaigns=len({r[1] for r in rows}),
    )
    return LoadedHistory(invites, clicks, conversions, history)
