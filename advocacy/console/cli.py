"""``flask --app advocacy staff ...``: bootstrap and operate staff accounts."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from advocacy.cli import fail
from advocacy.console import accounts
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.workspaces.roles import ROLES

staff = AppGroup("staff", help="Manage staff accounts of the console.")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@staff.command("add")
@click.argument("email")
@click.option("--workspace", "workspace_id", type=int, required=True, help="Workspace id")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default=None, help="Shown in the console and the audit trail")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (one line)"
)
def add(email: str, workspace_id: int, role: str, name: str | None, password_stdin: bool) -> None:
    """Create a staff member with a role in a workspace (or give a known one a new workspace)."""
    password = _read_password(password_stdin)
    try:
        user = accounts.add_staff(
            db.session,
            email=email,
            password=password,
            workspace_id=workspace_id,
            role=role,
            name=name,
        )
    except DomainError as error:
        fail(error)
        return
    db.session.commit()
    click.echo(f"staff {user.id} {user.email} is {role} of workspace {workspace_id}")


@staff.command("list")
@click.option("--workspace", "workspace_id", type=int, required=True, help="Workspace id")
def list_staff(workspace_id: int) -> None:
    """The workspace's staff: id, email, role, name."""
    for user, role in accounts.list_staff(db.session, workspace_id=workspace_id):
        click.echo(f"{user.id}\t{user.email}\t{role}\t{user.name or ''}")
