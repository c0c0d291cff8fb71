"""INSERT ... ON CONFLICT DO NOTHING on PostgreSQL and SQLite alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from advocacy.types import DbSession


def dialect_name(session: DbSession) -> str:
    return str(session.get_bind().dialect.name)


def insert_ignoring_conflicts(session: DbSession, model: Any, index_elements: Sequence[str]) -> Any:
    """An INSERT that skips rows whose ``index_elements`` already exist (a concurrent
    duplicate included: PostgreSQL waits for the other transaction, then skips)."""
    dialect_insert = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
    return dialect_insert(model).on_conflict_do_nothing(index_elements=list(index_elements))
