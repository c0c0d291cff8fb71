"""``flask --app advocacy staff ...``: bootstrap and operate staff accounts."""

from __future__ import annotations

import secrets
import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from advocacy.cli import commit_or_fail, workspace_option
from advocacy.console import accounts, tokens
from advocacy.console.models import StaffUser
from advocacy.errors import found
from advocacy.extensions import db
from advocacy.workspaces.models import Workspace
from advocacy.workspaces.roles import ROLES

staff = AppGroup("staff", help="Manage staff accounts of the console.")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@staff.command("add")
@click.argument("email")
@workspace_option
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default=None, help="Shown in the console and the audit trail")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (one line)"
)
def add(email: str, workspace_id: int, role: str, name: str | None, password_stdin: bool) -> None:
    """Create a staff member with a role in a workspace (or give a known one a new workspace)."""
    password = _read_password(password_stdin)
    user = commit_or_fail(
        lambda: accounts.add_staff(
            db.session,
            email=email,
            password=password,
            workspace_id=workspace_id,
            role=role,
            name=name,
        )
    )
    click.echo(f"staff {user.id} {user.email} is {role} of workspace {workspace_id}")


@staff.command("list")
@workspace_option
def list_staff(workspace_id: int) -> None:
    """The workspace's staff: id, email, role, name."""
    for user, role in accounts.list_staff(db.session, workspace_id=workspace_id):
        click.echo(f"{user.id}\t{user.email}\t{role}\t{user.name or ''}")


def _known_staff(email: str) -> StaffUser:
    return found(accounts.find_staff(db.session, email=email), f"No staff member {email}.")


def _public_url(path: str) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000"
    return f"{base}{path}"


@staff.command("invite")
@click.argument("email")
@workspace_option
@click.option("--role", type=click.Choice(ROLES), required=True)
def invite(email: str, workspace_id: int, role: str) -> None:
    """Print a single-use invitation link (expires in 7 days) to send to someone."""
    issued = commit_or_fail(
        lambda: tokens.invite_staff(
            db.session, workspace_id=workspace_id, email=email, role=role, invited_by=None
        )
    )
    click.echo(f"invitation for {issued.token.email} as {role} of workspace {workspace_id}")
    click.echo(f"expires {issued.token.expires_at.isoformat()}; link (shown once):")
    click.echo(_public_url(f"/invitations/{issued.secret}"))


@staff.command("remove")
@click.argument("email")
@workspace_option
def remove(email: str, workspace_id: int) -> None:
    """Take a person out of a workspace (the last owner stays)."""

    def remove_membership() -> StaffUser:
        user = _known_staff(email)
        accounts.remove_membership(db.session, staff_user_id=user.id, workspace_id=workspace_id)
        if not accounts.list_memberships(db.session, staff_user_id=user.id):
            accounts.end_all_sessions(db.session, staff_user_id=user.id)
        return user

    user = commit_or_fail(remove_membership)
    click.echo(f"{user.email} removed from workspace {workspace_id}")


@staff.command("reset")
@click.argument("email")
def reset(email: str) -> None:
    """Print a single-use password reset link (expires in 24 hours)."""

    def start_reset() -> tuple[StaffUser, tokens.IssuedToken]:
        user = _known_staff(email)
        return user, tokens.start_password_reset(db.session, staff_user_id=user.id)

    user, issued = commit_or_fail(start_reset)
    click.echo(f"password reset for {user.email}; expires {issued.token.expires_at.isoformat()}")
    click.echo(_public_url(f"/reset/{issued.secret}"))


DEMO_OWNER = "owner@demo.example"


@staff.command("demo-owner")
@click.option("--workspace-name", default="Demo", show_default=True, help="The demo workspace")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True)
def demo_owner(workspace_name: str, base_url: str) -> None:
    """Development only: an owner of the demo workspace, with a fresh password printed."""
    if current_app.config["ADVOCACY_ENV"] != "development":
        raise click.ClickException("demo-owner is for development only (ADVOCACY_ENV=development).")
    workspace = db.session.scalar(
        select(Workspace).where(Workspace.name == workspace_name).order_by(Workspace.id).limit(1)
    )
    if workspace is None:
        raise click.ClickException(
            f"No workspace named {workspace_name!r}: run `flask demo` first."
        )
    # A new random password at every start: nothing to keep in a file, nothing to guess.
    password = secrets.token_urlsafe(12)
    user = accounts.find_staff(db.session, email=DEMO_OWNER)
    if user is None:
        accounts.add_staff(
            db.session,
            email=DEMO_OWNER,
            password=password,
            workspace_id=workspace.id,
            role="owner",
            name="Demo owner",
        )
    else:
        accounts.set_password(db.session, user=user, password=password)
        if workspace.id not in {
            m.workspace_id for m in accounts.list_memberships(db.session, staff_user_id=user.id)
        }:
            accounts.add_membership(
                db.session, staff_user_id=user.id, workspace_id=workspace.id, role="owner"
            )
    db.session.commit()
    click.echo(f"Staff console: {base_url.rstrip('/')}/  (development only)")
    click.echo(f"  sign in as {DEMO_OWNER} with the password {password}")
