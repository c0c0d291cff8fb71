"""Pins what the per-test transaction fixture assumes of Flask-SQLAlchemy's public API."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Connection

from advocacy.extensions import db
from advocacy.workspaces.models import Workspace
from tests.conftest import app_engines


def test_the_app_binds_to_the_connection_put_in_db_engines(session: Any) -> None:
    connection = app_engines()[None]

    assert isinstance(connection, Connection)
    assert db.engine is connection
    assert session.get_bind() is connection


def test_a_commit_in_a_test_stays_inside_the_outer_transaction(session: Any) -> None:
    session.add(Workspace(name="Committed in a test"))
    session.commit()

    assert session.get_bind().in_transaction()
    assert session.scalar(select(Workspace.id).where(Workspace.name == "Committed in a test"))


def test_nothing_a_test_committed_is_left_behind(app: Flask, session: Any) -> None:
    # Runs after the test above (same module, file order): its workspace was rolled back.
    assert (
        session.scalar(select(Workspace.id).where(Workspace.name == "Committed in a test")) is None
    )
