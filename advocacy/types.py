"""Column types shared by every model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.types import TypeDecorator

# BIGINT ids on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are
    stored as naive UTC and given their zone back when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class FloatVector(TypeDecorator[np.ndarray]):
    """A fixed-length float64 vector stored as little-endian bytes (bytea/BLOB).

    Cheaper to bulk-write than a SQL array (no per-element headers to parse), and the
    same on every backend. NaN stands for "unknown".
    """

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return np.asarray(value, dtype="<f8").tobytes()

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> np.ndarray | None:
        if value is None:
            return None
        return np.frombuffer(value, dtype="<f8")


# What services accept: a Session, or Flask-SQLAlchemy's scoped `db.session` proxy to one.
DbSession = Session | scoped_session[Any]
