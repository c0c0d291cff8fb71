"""INSERT ... ON CONFLICT DO NOTHING on PostgreSQL and SQLite alike, and cached.

SQLAlchemy compiles the dialects' own INSERT constructs afresh at every execution
(``inherit_cache = False``: their ON CONFLICT clause has no cache key), about 0.9 ms per
statement, four of them per reported conversion. Here the clause puts what it says (its
target columns) in the cache key, so the statement is compiled once, as the SQLAlchemy
documentation describes for custom constructs ("Enabling Caching Support for Custom
Constructs").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import dml as postgresql_dml
from sqlalchemy.dialects.sqlite import dml as sqlite_dml
from sqlalchemy.sql.base import _generative
from sqlalchemy.sql.visitors import InternalTraversal

from advocacy.types import DbSession

_TARGET = [
    ("inferred_target_elements", InternalTraversal.dp_string_list),
    ("inferred_target_whereclause", InternalTraversal.dp_clauseelement),
]


class _PostgresqlDoNothing(postgresql_dml.OnConflictDoNothing):
    _traverse_internals = [("constraint_target", InternalTraversal.dp_string), *_TARGET]


class _SqliteDoNothing(sqlite_dml.OnConflictDoNothing):
    _traverse_internals = _TARGET


class _DoNothingOn:
    """``do_nothing_on(columns)``: ON CONFLICT (columns) DO NOTHING, with the dialect's
    cacheable clause (``_do_nothing``)."""

    _do_nothing: type[Any]

    @_generative
    def do_nothing_on(self, index_elements: Sequence[str]) -> Any:
        self._post_values_clause = self._do_nothing(index_elements=list(index_elements))
        return self


class _PostgresqlInsert(_DoNothingOn, postgresql_dml.Insert):
    inherit_cache = True
    _do_nothing = _PostgresqlDoNothing


class _SqliteInsert(_DoNothingOn, sqlite_dml.Insert):
    inherit_cache = True
    _do_nothing = _SqliteDoNothing


def dialect_name(session: DbSession) -> str:
    return str(session.get_bind().dialect.name)


def insert_ignoring_conflicts(session: DbSession, model: Any, index_elements: Sequence[str]) -> Any:
    """An INSERT that skips rows whose ``index_elements`` (column names) already exist (a
    concurrent duplicate included: PostgreSQL waits for the other transaction, then skips)."""
    insert = _PostgresqlInsert if dialect_name(session) == "postgresql" else _SqliteInsert
    return insert(model).do_nothing_on(index_elements)
