"""Core statements on the session's own connection, in its transaction.

``session.execute`` runs a statement through the ORM's execution layer (its events, its
compile state, and for an ``insert(Model)`` the bulk-insert machinery that builds a
statement per call): about half of a short statement's Python time on PostgreSQL, and
most of a multi-row INSERT's. The hot paths (a reported conversion runs some fifteen
statements) send plain Core statements, on tables, to the session's connection instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
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


def prepare_repeating_statements(session: DbSession) -> None:
    """Server-side prepared statements (psycopg 3) for the rest of this transaction.

    For a request whose every statement repeats with each one (a reported conversion,
    its key's authentication and Idempotency-Key claim included): PostgreSQL parses and
    plans each once per connection, not per request. The pool turns them off again when
    the connection comes back (the engine's default, see ``advocacy._configure_database``).
    Calling it again in the same transaction changes nothing.
    """
    connection = session.connection()
    driver: Any = connection.connection.driver_connection
    if not hasattr(driver, "prepare_threshold"):
        return  # not psycopg (SQLite)
    pool = connection.engine.pool
    if not event.contains(pool, "checkin", _no_prepared_statements):
        event.listen(pool, "checkin", _no_prepared_statements)
    driver.prepare_threshold = 1  # prepared from a statement's second execution on


def _no_prepared_statements(dbapi_connection: Any, _record: Any) -> None:
    if dbapi_connection is not None and hasattr(dbapi_connection, "prepare_threshold"):
        dbapi_connection.prepare_threshold = None
