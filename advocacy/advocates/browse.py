"""Browsing the ranking as staff do: search and sort on top of the ranked list.

``list_advocates`` (the API's ranked list) pages by rank; staff also search by id or name
and sort by a component or by follower count. Both read the same snapshot rows through
the same ranked query and explain rows the same way (``service._views``), so a row here
and a row of the API agree. Sorting by another column pages by ``(value, rank)``: rank is
unique within a snapshot and objective, so the cursor never skips or repeats a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select

from advocacy.advocates import service
from advocacy.advocates.models import AdvocateScore, RankingSnapshot
from advocacy.customers.models import Customer
from advocacy.errors import Unprocessable
from advocacy.graph.scoring import COMPONENT_NAMES
from advocacy.pagination import InvalidCursor, decode_cursor, decode_offset, encode_cursor
from advocacy.types import DbSession

# Column sorts, highest first; "rank" is the ranking's own order.
SORTS: tuple[str, ...] = ("rank", "followers", *COMPONENT_NAMES)
MAX_SEARCH = 100


def _sort_column(sort: str) -> Any:
    if sort not in SORTS:
        raise Unprocessable("Unknown sort.", errors={"sort": [f"Use one of {', '.join(SORTS)}."]})
    # A literal -1, not a parameter: the followers sort then reads the snapshot in the
    # order of ix_advocate_scores_followers (whose expression the planner must match).
    return func.coalesce(getattr(AdvocateScore, sort), literal_column("-1"))


def _search_clause(search: str) -> Any:
    text = search.strip()[:MAX_SEARCH]
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    full_name = func.coalesce(Customer.first_name, "") + " " + func.coalesce(Customer.last_name, "")
    return or_(
        Customer.external_id.ilike(pattern, escape="\\"),
        full_name.ilike(pattern, escape="\\"),
    )


def _bounded(part: Any) -> bool:
    """A number a forged cursor may hold without upsetting the database."""
    return isinstance(part, int | float) and not isinstance(part, bool) and abs(part) < 2**62


def browse_advocates(
    session: DbSession,
    *,
    workspace_id: int,
    objective: str,
    weights: Mapping[str, float] | None = None,
    eligible: bool | None = None,
    search: str | None = None,
    sort: str = "rank",
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[RankingSnapshot, list[service.AdvocateView], str | None]:
    """A page of the ranking, filtered and sorted; the cursor is opaque."""
    if sort == "rank" and not (search and search.strip()):
        rank_cursor = decode_offset(cursor) if cursor else None
        if rank_cursor is not None and rank_cursor >= 2**31:
            raise InvalidCursor()
        snapshot, views, after = service.list_advocates(
            session,
            workspace_id=workspace_id,
            objective=objective,
            weights=weights,
            eligible=eligible,
            limit=limit,
            cursor=rank_cursor,
        )
        return snapshot, views, None if after is None else encode_cursor(after)
    snapshot = service.latest_snapshot(session, workspace_id=workspace_id)
    resolved = service.weights_for(objective, weights)
    query, rank_col = service._ranked_query(snapshot, objective, weights is not None, resolved)
    if eligible is not None:
        query = query.where(AdvocateScore.eligible.is_(eligible))
    if search and search.strip():
        query = query.where(_search_clause(search))
    order: list[Any] = [rank_col]
    key = None
    if sort != "rank":
        key = _sort_column(sort)
        order = [key.desc(), rank_col]
    if cursor:
        parts = decode_cursor(cursor, 2 if key is not None else 1)
        if not all(_bounded(p) for p in parts):
            raise InvalidCursor()
        if key is None:
            query = query.where(rank_col > parts[0])
        else:
            query = query.where(or_(key < parts[0], and_(key == parts[0], rank_col > parts[1])))
    query = query.add_columns(key if key is not None else rank_col)
    rows = list(session.execute(query.order_by(*order).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = (
            encode_cursor(int(last[3])) if key is None else encode_cursor(last[4], int(last[3]))
        )
    views = service._views(snapshot, [tuple(row[:4]) for row in rows[:limit]], objective, resolved)
    return snapshot, views, next_cursor


def largest_audiences(session: DbSession, *, workspace_id: int, k: int) -> list[dict[str, Any]]:
    """The k customers of the latest snapshot with the most followers (for contrast only)."""
    snapshot = service.latest_snapshot(session, workspace_id=workspace_id)
    rows = session.execute(
        select(
            Customer.external_id,
            AdvocateScore.followers,
            AdvocateScore.eligible,
            AdvocateScore.gate,
        )
        .join(Customer, Customer.id == AdvocateScore.customer_id)
        .where(
            AdvocateScore.snapshot_id == snapshot.id,
            AdvocateScore.followers.is_not(None),
            Customer.erased_at.is_(None),
        )
        .order_by(_sort_column("followers").desc(), AdvocateScore.customer_id)
        .limit(k)
    )
    return [
        {
            "external_id": row.external_id,
            "followers": int(row.followers),
            "eligible": bool(row.eligible),
            "gate": int(row.gate),
        }
        for row in rows
    ]
