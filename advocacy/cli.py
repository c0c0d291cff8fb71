"""Command-line administration: ``flask --app advocacy workspaces|keys|staff|demo|...``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click
from flask import Flask
from flask.cli import AppGroup

from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.workspaces import service
from advocacy.workspaces.models import Workspace

workspaces = AppGroup("workspaces", help="Manage workspaces (one brand's program each).")
keys = AppGroup("keys", help="Manage API keys.")

T = TypeVar("T")

#: The workspace a command acts in (commands where it is optional declare their own).
workspace_option = click.option(
    "--workspace", "workspace_id", type=int, required=True, help="Workspace id"
)


def fail(error: DomainError) -> NoReturn:
    """Roll back and exit non-zero with the error and its field messages."""
    db.session.rollback()
    messages = [error.detail] + [m for ms in (error.errors or {}).values() for m in ms]
    raise click.ClickException(" ".join(messages))


def commit_or_fail(change: Callable[[], T]) -> T:
    """Run a command's change and commit it once; a domain error rolls back and exits
    non-zero (see ``fail``)."""
    try:
        result = change()
    except DomainError as error:
        fail(error)
    db.session.commit()
    return result


@workspaces.command("create")
@click.argument("name")
def create_workspace(name: str) -> None:
    """Create a workspace and print an admin API key (shown once)."""

    def create() -> tuple[Workspace, service.IssuedKey]:
        workspace = service.create_workspace(db.session, name=name)
        issued = service.create_api_key(
            db.session, workspace_id=workspace.id, name="initial admin key", scopes=["admin"]
        )
        return workspace, issued

    workspace, issued = commit_or_fail(create)
    click.echo(f"workspace {workspace.id} {workspace.name!r} created")
    click.echo(f"API key (shown once, store it now): {issued.secret}")


@workspaces.command("list")
def list_workspaces() -> None:
    """List workspaces."""
    for workspace in db.session.scalars(db.select(Workspace).order_by(Workspace.id)):
        click.echo(f"{workspace.id}\t{workspace.name}\t{workspace.created_at.isoformat()}")


@keys.command("create")
@workspace_option
@click.option("--name", default="api key", show_default=True)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(service.SCOPES),
    required=True,
    help="Repeat for several scopes",
)
def create_key(workspace_id: int, name: str, scopes: tuple[str, ...]) -> None:
    """Issue an API key with the given scopes (shown once)."""
    issued = commit_or_fail(
        lambda: service.create_api_key(
            db.session, workspace_id=workspace_id, name=name, scopes=list(scopes)
        )
    )
    click.echo(f"key {issued.key.id} ({', '.join(issued.key.scopes)}) for workspace {workspace_id}")
    click.echo(f"API key (shown once, store it now): {issued.secret}")


@keys.command("list")
@click.option("--workspace", "workspace_id", type=int, default=None)
def list_keys(workspace_id: int | None) -> None:
    """List keys: id, workspace, prefix, scopes, state. Secrets are never shown."""
    for key in service.list_api_keys(db.session, workspace_id=workspace_id):
        state = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
        click.echo(
            f"{key.id}\t{key.workspace_id}\t{key.prefix}…\t{','.join(key.scopes)}\t{key.name}\t{state}"
        )


@keys.command("revoke")
@click.argument("key_id", type=int)
def revoke_key(key_id: int) -> None:
    """Revoke a key: it stops working at once."""
    key = commit_or_fail(lambda: service.revoke_api_key(db.session, key_id=key_id))
    click.echo(f"key {key.id} revoked")


@click.command("rank")
@click.option(
    "--workspace", "workspace_id", type=int, default=None, help="Default: every workspace"
)
def rank(workspace_id: int | None) -> None:
    """Recompute advocate rankings (one snapshot per workspace)."""
    from advocacy.advocates.service import rank_workspace

    ids = (
        [workspace_id]
        if workspace_id is not None
        else list(db.session.scalars(db.select(Workspace.id).order_by(Workspace.id)))
    )
    for wid in ids:
        try:
            service.get_workspace(db.session, workspace_id=wid)
        except DomainError as error:
            fail(error)
        snapshot = rank_workspace(db.session, workspace_id=wid)
        db.session.commit()
        click.echo(
            f"workspace {wid}: snapshot v{snapshot.version}, {snapshot.customers} customers "
            f"({snapshot.eligible} eligible), {snapshot.connections} connections, "
            f"{snapshot.duration_ms} ms; value model: {model_summary(snapshot.model)}"
        )


def model_summary(model: dict[str, Any] | None) -> str:
    """``prior (too little history to fit)``, ``fitted (holdout AUC 0.61 vs prior 0.55)``."""
    if not model:
        return "none"
    fit = model.get("fit") or {}
    holdout = fit.get("holdout")
    if not holdout:
        return f"{model['source']} ({fit.get('invitations', 0)} past invitations)"
    return (
        f"{model['source']} ({fit['invitations']} past invitations; holdout AUC "
        f"{holdout['fitted']['auc']} fitted vs {holdout['prior']['auc']} prior)"
    )


rewards = AppGroup("rewards", help="Reward jobs.")


@rewards.command("settle")
def settle_rewards() -> None:
    """Approve pending rewards whose return window (hold_days) has passed."""
    from advocacy.types import utcnow
    from advocacy.worker import settle_all

    click.echo(f"{settle_all(db.session, now=utcnow())} rewards approved")


@rewards.command("purge-keys")
def purge_idempotency_keys() -> None:
    """Delete idempotency keys older than IDEMPOTENCY_TTL_HOURS."""
    from datetime import timedelta

    from flask import current_app

    from advocacy.api.idempotency import purge_keys
    from advocacy.types import utcnow

    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
    count = purge_keys(db.session, now=utcnow(), ttl=ttl)
    db.session.commit()
    click.echo(f"{count} idempotency keys deleted")


@click.command("worker")
@click.option("--once", is_flag=True, help="One pass, then exit (for cron or tests).")
@click.option("--interval", default=2.0, show_default=True, help="Seconds to sleep when idle.")
def worker(once: bool, interval: float) -> None:
    """Deliver webhooks from the outbox (retries, dead letters) and settle due rewards."""
    from flask import current_app

    from advocacy.worker import WorkerSettings, run_worker

    settings = WorkerSettings.from_config(current_app.config)
    run_worker(
        db.session,
        settings=settings,
        once=once,
        interval=interval,
        echo=click.echo,
        log=current_app.logger,
    )


def register(app: Flask) -> None:
    app.cli.add_command(workspaces)
    app.cli.add_command(keys)
    app.cli.add_command(rank)
    app.cli.add_command(rewards)
    app.cli.add_command(worker)
    from advocacy.console.cli import staff
    from advocacy.demo.command import demo_command

    app.cli.add_command(staff)

    app.cli.add_command(demo_command)
