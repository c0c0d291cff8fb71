"""INSERT ... ON CONFLICT DO NOTHING that SQLAlchemy can cache (compiled once, not per call)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from advocacy import upserts
from advocacy.rewards.models import Conversion


def _statement(insert: Any, target: tuple[str, ...], event_id: str) -> Any:
    return insert(Conversion).do_nothing_on(target).values(workspace_id=1, event_id=event_id)


def test_the_statement_of_this_database_is_cached(session):
    first = upserts.insert_ignoring_conflicts(session, Conversion, ("workspace_id", "event_id"))

    assert first._generate_cache_key() is not None


def test_other_values_share_the_compiled_statement():
    for insert in (upserts._PostgresqlInsert, upserts._SqliteInsert):
        one = _statement(insert, ("workspace_id", "event_id"), "a")._generate_cache_key()
        other = _statement(insert, ("workspace_id", "event_id"), "b")._generate_cache_key()

        assert one is not None and one == other


def test_another_conflict_target_is_another_statement():
    for insert in (upserts._PostgresqlInsert, upserts._SqliteInsert):
        one = _statement(insert, ("workspace_id", "event_id"), "a")._generate_cache_key()
        other = _statement(insert, ("event_id",), "a")._generate_cache_key()

        assert one != other


def test_the_sql_says_on_conflict_do_nothing():
    for insert, dialect in (
        (upserts._PostgresqlInsert, postgresql.dialect()),
        (upserts._SqliteInsert, sqlite.dialect()),
    ):
        sql = str(_statement(insert, ("workspace_id", "event_id"), "a").compile(dialect=dialect))

        assert ") ON CONFLICT (workspace_id, event_id) DO NOTHING" in sql
