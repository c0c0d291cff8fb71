"""Core statements on the session's own connection, in its transaction.

``session.execute`` runs a statement through the ORM's execution layer (its events, its
compile state, and for an ``insert(Model)`` the bulk-insert machinery that builds a
statement per call): about half of a short statement's Python time on PostgreSQL, and
most of a multi-row INSERT's. The hot paths (a reported conversion runs some fifteen
statements) send plain Core statements, on tables, to the session's connection instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from advocacy.types import DbSession


def core(session: DbSession) -> Connection:
    """The session's connection, its pending ORM changes flushed first (as
    ``session.execute`` would autoflush), so a Core statement sees them."""
    if session.autoflush:
        session.flush()  # returns at once when nothing is pending
    return session.connection()


def run(session: DbSession, statement: Any, parameters: Any = None) -> Any:
    """Execute a Core statement (built once, at import) on the session's connection."""
    return core(session).execute(statement, parameters)
