"""``flask --app advocacy demo``: a believable demo workspace, built fast.

The data comes from :mod:`advocacy.demo.population` (pure numpy, deterministic per seed);
this module writes it in chunks (a Core INSERT executemany per chunk, COPY on
PostgreSQL; never an ORM object per row) and owns the demo's API key. Keys are stored
only as a hash, so the secret of the demo's admin key is kept in
``<instance>/demo-api-key`` (mode 600) for ``make run`` to print again; a missing or
dead key is replaced.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import numpy as np
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import JSON, Table, insert, select
from sqlalchemy import column as lightweight_column
from sqlalchemy import table as lightweight_table
from sqlalchemy.orm import Session

from advocacy.advocates.service import rank_workspace
from advocacy.campaigns.models import Campaign
from advocacy.customers.emails import normalize_email
from advocacy.customers.models import Connection, Customer, EngagementEvent, Mention
from advocacy.customers.sentiment import SOURCE as VADER
from advocacy.demo.campaign import CAMPAIGN_NAME, ProgramCounts, write_program
from advocacy.demo.population import (
    CAMPAIGN_END_DAYS,
    CRISIS_DAYS_AGO,
    CURRENCY,
    EVENT_KINDS,
    MENTION_CHANNELS,
    MIN_CUSTOMERS,
    PLANTED,
    SOCIAL_CHANNELS,
    DemoData,
    generate_demo,
)
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.types import UTCDateTime, utcnow
from advocacy.workspaces import service as workspaces
from advocacy.workspaces.models import Workspace

DEFAULT_NAME = "Demo"
DEFAULT_SEED = 7
DEFAULT_CUSTOMERS = 2000
MAX_CUSTOMERS = 2_000_000
CHUNK = 10_000
KEY_FILE = "demo-api-key"
KEY_NAME = "demo admin key"


@dataclass(frozen=True)
class DemoCounts:
    customers: int
    events: int
    mentions: int
    connections: int
    program: ProgramCounts


@dataclass(frozen=True)
class DemoBuild:
    workspace_id: int
    secret: str
    counts: DemoCounts
    generate_seconds: float
    write_seconds: float


def demo_anchor(now: datetime | None = None) -> datetime:
    """Today at midnight UTC: demo times are offsets before it."""
    now = now or utcnow()
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def find_workspace(session: Session, name: str) -> Workspace | None:
    return session.scalar(
        select(Workspace).where(Workspace.name == name).order_by(Workspace.id).limit(1)
    )


@dataclass(frozen=True)
class Secrets:
    """What the demo signs and hashes with: the app's link keys and SECRET_KEY."""

    signing_keys: Sequence[str]
    ip_key: bytes

    @classmethod
    def from_app(cls) -> Secrets:
        config = current_app.config
        return cls(config["REFERRAL_SIGNING_KEYS"], config["SECRET_KEY"].encode())


def build_demo_workspace(
    session: Session,
    *,
    name: str,
    seed: int,
    customers: int,
    secrets: Secrets,
    anchor: datetime | None = None,
) -> DemoBuild:
    """Create the workspace, its admin key and all its data; flushes, never commits."""
    workspace = workspaces.create_workspace(session, name=name)
    issued = workspaces.create_api_key(
        session, workspace_id=workspace.id, name=KEY_NAME, scopes=["admin"]
    )
    started = time.perf_counter()
    data = generate_demo(seed, customers)
    generated = time.perf_counter()
    counts = write_demo(session, workspace.id, data, anchor or demo_anchor(), secrets)
    return DemoBuild(
        workspace_id=workspace.id,
        secret=issued.secret,
        counts=counts,
        generate_seconds=generated - started,
        write_seconds=time.perf_counter() - generated,
    )


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


# --- the demo key ----------------------------------------------------------------------


def key_path(name: str) -> Path:
    """Where the demo key's secret is kept: one file per demo workspace name."""
    instance = Path(current_app.instance_path)
    if name == DEFAULT_NAME:
        return instance / KEY_FILE
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "workspace"
    return instance / f"{KEY_FILE}-{slug}"


def _write_key(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    path.chmod(0o600)  # in case the file existed with looser permissions


def _read_key(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def _key_works(session: Session, secret: str, workspace_id: int) -> bool:
    principal = workspaces.authenticate(session, secret)
    return principal is not None and principal.workspace_id == workspace_id


def demo_campaign(session: Session, workspace_id: int) -> Campaign | None:
    """The demo's ended referral campaign (a workspace built by an older demo has none)."""
    return session.scalar(
        select(Campaign)
        .where(Campaign.workspace_id == workspace_id, Campaign.name == CAMPAIGN_NAME)
        .order_by(Campaign.id)
        .limit(1)
    )


def _usage(
    secret: str,
    base_url: str,
    name: str,
    workspace_id: int,
    path: Path,
    campaign: Campaign | None,
) -> list[str]:
    base = base_url.rstrip("/")
    auth = f'-H "Authorization: Bearer {secret}"'
    detractor, promoters = PLANTED["loud_detractor"], PLANTED["quiet_promoters"]
    bridges = set(PLANTED["group_bridges"])
    group_a, group_b = (
        [e for e in group if e not in bridges] for group in PLANTED["overlapping_groups"]
    )
    lines = [
        f"Demo workspace {name!r} (id {workspace_id}); admin API key: {secret}",
        f"  (the server keeps only its hash; the secret is in {path})",
        "Try:",
        f'  curl -s {auth} "{base}/api/v1/customers?limit=3"',
        f'  curl -s {auth} "{base}/api/v1/advocates?objective=conversion&limit=5"',
        f'  curl -s {auth} "{base}/api/v1/advocates/{detractor}"',
    ]
    planted = [
        "Planted cases:",
        f"  loud detractor (~5,000 followers, recent NPS 1): {detractor}",
        f"  quiet promoters (<50 followers, loved by friends): {', '.join(promoters)}",
        f"  overlapping friend groups: {_span(group_a)} and {_span(group_b)},"
        f" sharing {', '.join(PLANTED['group_bridges'])}",
        f"  dormant fans (praise 20-24 months ago): {', '.join(PLANTED['dormant_fans'])}",
    ]
    if campaign is not None and campaign.starts_at and campaign.ends_at:
        first = campaign.starts_at.date()
        last = (campaign.ends_at - timedelta(days=1)).date()
        anchor = campaign.ends_at + timedelta(days=CAMPAIGN_END_DAYS)
        crisis = (anchor - timedelta(days=CRISIS_DAYS_AGO)).date()
        kpis = f"/api/v1/campaigns/{campaign.id}/kpis?from={first}&to={last}&granularity=week"
        lines += [
            f"The ended campaign {campaign.name!r} (id {campaign.id}, {first} to {last}):"
            " KPIs by week, the experiment (one-way EUR 20/0 against two-way EUR 10/10"
            " per referred first order), and the listening alerts over its weeks:",
            f'  curl -s {auth} "{base}{kpis}"',
            f'  curl -s {auth} "{base}/api/v1/campaigns/{campaign.id}/experiment"',
            f'  curl -s {auth} "{base}/api/v1/insights/alerts?from={first}&to={last}"',
        ]
        planted.append(f"  crisis day (angry posts about lost orders): {crisis}")
    return lines + planted


def _span(ids: list[str]) -> str:
    return f"{ids[0]}..{ids[-1]}"


# --- the command ----------------------------------------------------------------------


@click.command("demo")
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=DEFAULT_SEED,
    show_default=True,
    help="Random seed.",
)
@click.option(
    "--customers",
    type=click.IntRange(MIN_CUSTOMERS, MAX_CUSTOMERS),
    default=DEFAULT_CUSTOMERS,
    show_default=True,
    help="Number of customers, planted cases included.",
)
@click.option("--name", default=DEFAULT_NAME, show_default=True, help="Workspace name.")
@click.option(
    "--if-missing",
    is_flag=True,
    help="If a workspace with this name exists, build nothing (and check its key).",
)
@click.option("--print-usage", is_flag=True, help="Print the API key and example curl calls.")
@click.option(
    "--base-url",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="Server address used in the printed examples.",
)
@with_appcontext
def demo_command(
    seed: int, customers: int, name: str, if_missing: bool, print_usage: bool, base_url: str
) -> None:
    """Build a demo workspace: customers, CRM history, mentions with a crisis day, a social
    graph, and an ended referral campaign with an incentive experiment."""
    session: Session = db.session()
    name = name.strip()
    path = key_path(name)
    existing = find_workspace(session, name)
    if existing is not None:
        if not if_missing:
            raise click.ClickException(
                f"A workspace named {name!r} exists (id {existing.id}): "
                "pass --if-missing to keep it, or choose another --name."
            )
        workspace_id = existing.id
        click.echo(f"Workspace {name!r} (id {workspace_id}) exists: nothing built.")
        secret = _read_key(path)
        if secret is None or not _key_works(session, secret, workspace_id):
            issued = workspaces.create_api_key(
                session, workspace_id=workspace_id, name=KEY_NAME, scopes=["admin"]
            )
            session.commit()
            secret = issued.secret
            _write_key(path, secret)
            click.echo(f"Issued a new demo API key (the one in {path} was missing or revoked).")
    else:
        started = time.perf_counter()
        try:
            build = build_demo_workspace(
                session, name=name, seed=seed, customers=customers, secrets=Secrets.from_app()
            )
        except DomainError as error:
            session.rollback()
            raise click.ClickException(error.detail) from error
        session.commit()
        _write_key(path, build.secret)
        workspace_id, secret, counts = build.workspace_id, build.secret, build.counts
        # Rank straight away, so the advocates are there when the server starts.
        snapshot = rank_workspace(session, workspace_id)
        session.commit()
        total = time.perf_counter() - started
        click.echo(
            f"Built workspace {name!r} (id {workspace_id}, seed {seed}) in {total:.1f} s "
            f"(generate {build.generate_seconds:.1f} s, write {build.write_seconds:.1f} s, "
            f"commit {total - build.generate_seconds - build.write_seconds:.1f} s): "
            f"{counts.customers:,} customers, {counts.events:,} events, "
            f"{counts.mentions:,} mentions, {counts.connections:,} connections; "
            f"a campaign with {counts.program.advocates:,} advocates, "
            f"{counts.program.clicks:,} clicks, {counts.program.conversions:,} conversions; "
            f"ranked in {snapshot.duration_ms / 1000:.1f} s ({snapshot.eligible:,} eligible)."
        )
    if print_usage:
        campaign = demo_campaign(session, workspace_id)
        for line in _usage(secret, base_url, name, workspace_id, path, campaign):
            click.echo(line)
