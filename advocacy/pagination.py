"""Keyset pagination for every list: opaque cursors and the ``limit + 1`` query.

A cursor is the sort key of the last row of a page (a row id, or a timestamp and an id),
as URL-safe base64 of a JSON list. Clients can forge cursors, so decoding checks every
part (ids must fit a BIGINT, times must carry a zone) and anything else is one error,
:class:`InvalidCursor` (422, ``errors: {"cursor": ["Invalid cursor."]}``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, or_

from advocacy.errors import Unprocessable
from advocacy.fields import MAX_INT63
from advocacy.types import DbSession


class InvalidCursor(Unprocessable):
    def __init__(self) -> None:
        super().__init__("Invalid cursor.", errors={"cursor": ["Invalid cursor."]})


def encode_cursor(*parts: Any) -> str:
    raw = json.dumps([p.isoformat() if isinstance(p, datetime) else p for p in parts])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The ``arity`` parts of a cursor, unchecked; see :func:`decode_id` and friends."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(parts, list) or len(parts) != arity:
        raise InvalidCursor()
    return parts


def _row_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT63:
        raise InvalidCursor()
    return value


def _moment(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            return moment.astimezone(UTC)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidCursor() from exc
    raise InvalidCursor()


def decode_id(cursor: str) -> int:
    """The row id of a cursor made by ``encode_cursor(row.id)``."""
    (last_id,) = decode_cursor(cursor, 1)
    return _row_id(last_id)


def decode_time_id(cursor: str) -> tuple[datetime, int]:
    """The (UTC time, row id) of a cursor made by ``encode_cursor(row.at, row.id)``."""
    stamp, last_id = decode_cursor(cursor, 2)
    return _moment(stamp), _row_id(last_id)


def decode_offset(cursor: str | None) -> int:
    """A position in a list sorted in memory (0 without a cursor; past the end is empty)."""
    if cursor is None:
        return 0
    (offset,) = decode_cursor(cursor, 1)
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidCursor()
    return offset


def fetch_rows(
    session: DbSession, query: Select[Any], *, limit: int, scalars: bool = True
) -> tuple[list[Any], bool]:
    """At most ``limit`` rows of an ordered query, and whether more follow: asks for one
    more row than it returns."""
    statement = query.limit(limit + 1)
    rows = list(session.scalars(statement) if scalars else session.execute(statement))
    return rows[:limit], len(rows) > limit


def fetch_page(
    session: DbSession,
    query: Select[Any],
    *,
    limit: int,
    key: Callable[[Any], Sequence[Any]],
    scalars: bool = True,
) -> tuple[list[Any], str | None]:
    """One page of an ordered query and the cursor of the next (``None`` on the last
    page): ``key`` gives the sort key of a row, which the next page starts after."""
    rows, more = fetch_rows(session, query, limit=limit, scalars=scalars)
    return rows, encode_cursor(*key(rows[-1])) if more else None


def page_by_id(
    session: DbSession,
    query: Select[Any],
    id_column: Any,
    *,
    limit: int,
    cursor: str | None,
    descending: bool = False,
    row_id: Callable[[Any], int] | None = None,
) -> tuple[list[Any], str | None]:
    """A page in id order (newest first when ``descending``) after the cursor's id.

    Rows are ORM objects, unless ``row_id`` says where the id of a selected row is."""
    if cursor:
        last_id = decode_id(cursor)
        query = query.where(id_column < last_id if descending else id_column > last_id)
    order = id_column.desc() if descending else id_column
    orm_objects = row_id is None
    get_id = row_id or (lambda row: getattr(row, id_column.key))
    return fetch_page(
        session,
        query.order_by(order),
        limit=limit,
        key=lambda row: (get_id(row),),
        scalars=orm_objects,
    )


def page_by_time(
    session: DbSession,
    query: Select[Any],
    time_column: Any,
    id_column: Any,
    *,
    limit: int,
    cursor: str | None,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """A page of ORM objects in (time, id) order after the cursor's (time, id); newest
    first when ``descending``."""
    if cursor:
        after, last_id = decode_time_id(cursor)
        if descending:
            query = query.where(
                or_(time_column < after, and_(time_column == after, id_column < last_id))
            )
        else:
            query = query.where(
                or_(time_column > after, and_(time_column == after, id_column > last_id))
            )
    order = (time_column.desc(), id_column.desc()) if descending else (time_column, id_column)
    return fetch_page(
        session,
        query.order_by(*order),
        limit=limit,
        key=lambda row: (getattr(row, time_column.key), getattr(row, id_column.key)),
    )
