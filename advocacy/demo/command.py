"""``flask --app advocacy demo``: a believable demo workspace, built fast.

:mod:`advocacy.demo.writer` writes the data; this module creates the workspace and owns
the demo's API key. Keys are stored only as a hash, so the secret of the demo's admin key
is kept in ``<instance>/demo-api-key`` (mode 600) for ``make run`` to print again; a
missing or dead key is replaced.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.advocates.service import rank_workspace
from advocacy.campaigns.models import Campaign
from advocacy.demo.campaign import CAMPAIGN_NAME
from advocacy.demo.population import (
    CAMPAIGN_END_DAYS,
    CRISIS_DAYS_AGO,
    MIN_CUSTOMERS,
    PLANTED,
    generate_demo,
)
from advocacy.demo.writer import DemoCounts, Secrets, demo_anchor, write_demo
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.workspaces import service as workspaces
from advocacy.workspaces.models import Workspace

DEFAULT_NAME = "Demo"
DEFAULT_SEED = 7
DEFAULT_CUSTOMERS = 2000
MAX_CUSTOMERS = 2_000_000
KEY_FILE = "demo-api-key"
KEY_NAME = "demo admin key"


@dataclass(frozen=True)
class DemoBuild:
    workspace_id: int
    secret: str
    counts: DemoCounts
    generate_seconds: float
    write_seconds: float


def find_workspace(session: Session, name: str) -> Workspace | None:
    return session.scalar(
        select(Workspace).where(Workspace.name == name).order_by(Workspace.id).limit(1)
    )


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
    principal = workspaces.authenticate(session, secret=secret)
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
        snapshot = rank_workspace(session, workspace_id=workspace_id)
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
