"""Clicks, unique visitors, active advocates and reach: the KPIs that touch every click.

They decide how fast the KPIs answer, so PostgreSQL gets queries of its own, shaped by
``EXPLAIN (ANALYZE, BUFFERS)`` on the benchmark campaign (1M clicks, ``bench/kpis.py``):

- Clicks are counted per period in a ``LATERAL`` subquery: each period is one index-only range
  scan of ``ix_clicks_campaign_time`` and sorts only its own visitors. Joining the periods
  table and grouping by period sorted all the clicks by period first (an external merge).
- Visitor ids are compared with ``COLLATE "C"``: they are opaque tokens, byte order lets the
  sort use abbreviated keys, and equality (so the distinct count) is the same in any
  deterministic collation.
- Distinct visitors over the whole range are read from ``ix_clicks_campaign_visitor`` in
  visitor order, skipping duplicates without a sort.
- Reach goes through bitmasks of periods: each advocate's active periods, OR-ed per connected
  person, counted once per distinct mask. Joining every active (period, advocate) to its
  connections repeated each connection once per period (600k rows for 30 days).
- Per advocate, one ``LATERAL`` subquery per advocate reads its links' clicks in the range
  from ``ix_clicks_link_time`` and sorts that advocate's visitors only, instead of sorting all
  the clicks by advocate.

``clicks.unique_visit`` is not used: it marks a visitor's first click within the campaign's
attribution window, not within a KPI period (a visitor back the next day is a unique visitor
of that day again).

SQLite, which only serves small databases here, gets portable range joins with ``GROUP BY``
period; the KPI tests run on both, and both give the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    distinct,
    func,
    literal,
    select,
    true,
    union,
)
from sqlalchemy.sql.expression import CTE

from advocacy.customers.models import Connection
from advocacy.kpis.models import Share
from advocacy.links.models import Click, ReferralLink
from advocacy.types import DbSession

Counts = dict[str, Any]
# Periods per bigint mask: 63 bits, so the sign bit is never set.
MASK_BITS = 63


@dataclass(frozen=True)
class PeriodTables:
    """The periods as ``VALUES`` tables (idx, lo, hi): one row per period, and one row
    spanning the whole range [start, end) for the distinct counts of the totals."""

    series: CTE
    whole: CTE
    start: datetime
    end: datetime


def on_postgresql(session: DbSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def fill_campaign(
    session: DbSession,
    *,
    rows: list[Counts],
    totals: Counts,
    tables: PeriodTables,
    ws: int,
    cid: int,
) -> None:
    """Clicks, unique visitors, active advocates and reach of each period and of the range."""
    if on_postgresql(session):
        _fill_postgresql(session, rows, totals, tables, ws, cid)
    else:
        _fill_portable(session, rows, totals, tables, ws, cid)


def clicks_per_advocate(
    session: DbSession, *, ws: int, cid: int, start: datetime, end: datetime
) -> Any:
    """(advocate, clicks, unique visitors) of the advocates with clicks in [start, end)."""
    if on_postgresql(session):
        return _clicks_per_advocate_postgresql(ws, cid, start, end)
    return _clicks_per_advocate_portable(ws, cid, start, end)


def _within(moment: Any, periods: CTE) -> ColumnElement[bool]:
    return and_(moment >= periods.c.lo, moment < periods.c.hi)


def _campaign_clicks(ws: int, cid: int) -> ColumnElement[bool]:
    return and_(Click.workspace_id == ws, Click.campaign_id == cid)


def _activity_sources(ws: int, cid: int, periods: CTE) -> list[Any]:
    """(period, advocate) of the invites (links created) and shares in each period."""
    return [
        select(periods.c.idx.label("idx"), ReferralLink.advocate_id.label("advocate_id"))
        .select_from(periods)
        .join(
            ReferralLink,
            and_(
                ReferralLink.workspace_id == ws,
                ReferralLink.campaign_id == cid,
                _within(ReferralLink.created_at, periods),
            ),
        ),
        select(periods.c.idx, Share.advocate_id)
        .select_from(periods)
        .join(
            Share,
            and_(
                Share.workspace_id == ws,
                Share.campaign_id == cid,
                _within(Share.occurred_at, periods),
            ),
        ),
    ]


# --- PostgreSQL -------------------------------------------------------------------------------


def _fill_postgresql(
    session: DbSession, rows: list[Counts], totals: Counts, tables: PeriodTables, ws: int, cid: int
) -> None:
    """One statement for the series and the totals."""
    clicked = _clicked_per_period(ws, cid, tables.series)
    active = _active_per_period(ws, cid, tables.series, clicked)
    advocate_masks, person_masks = _period_masks(ws, active)
    reach = _reach_per_period(person_masks)
    active_counts = (
        select(active.c.idx, func.count().label("advocates"))
        .group_by(active.c.idx)
        .subquery("active_counts")
    )
    query = (
        select(
            clicked.c.idx,
            clicked.c.clicks,
            clicked.c.visitors,
            func.coalesce(active_counts.c.advocates, 0),
            func.coalesce(reach.c.reach, 0),
            _range_visitors(ws, cid, tables),
            select(func.count(distinct(advocate_masks.c.advocate_id))).scalar_subquery(),
            select(func.count(distinct(person_masks.c.source_id))).scalar_subquery(),
        )
        .outerjoin(active_counts, active_counts.c.idx == clicked.c.idx)
        .outerjoin(reach, reach.c.idx == clicked.c.idx)
    )
    for idx, clicks, visitors, advocates, people, *whole in session.execute(query):
        row = rows[idx]
        row["clicks"], row["unique_visitors"] = int(clicks), int(visitors)
        row["active_advocates"], row["reach"] = int(advocates), int(people)
        totals["unique_visitors"], totals["active_advocates"], totals["reach"] = map(int, whole)


def _clicked_per_period(ws: int, cid: int, periods: CTE) -> CTE:
    """(idx, clicks, visitors, links clicked) of each period, one LATERAL scan per period."""
    per_period = (
        select(
            func.count().label("clicks"),
            func.count(distinct(Click.visitor_id.collate("C"))).label("visitors"),
            func.array_agg(distinct(Click.link_id)).label("links"),
        )
        .where(_campaign_clicks(ws, cid), _within(Click.clicked_at, periods))
        .lateral("per_period")
    )
    return (
        select(periods.c.idx, per_period.c.clicks, per_period.c.visitors, per_period.c.links)
        .select_from(periods.join(per_period, true()))
        .cte("clicked")
    )


def _active_per_period(ws: int, cid: int, periods: CTE, clicked: CTE) -> CTE:
    """(idx, advocate) of the advocates with an invite, share or click in each period."""
    clicked_link = (
        func.unnest(clicked.c.links).table_valued("link_id").render_derived("clicked_link")
    )
    return union(
        *_activity_sources(ws, cid, periods),
        select(clicked.c.idx, ReferralLink.advocate_id)
        .select_from(clicked)
        .join(clicked_link, true())
        .join(ReferralLink, ReferralLink.id == clicked_link.c.link_id),
    ).cte("active")


def _period_masks(ws: int, active: CTE) -> tuple[CTE, CTE]:
    """Each active advocate's periods as bitmasks, then OR-ed per connected person."""
    advocate_masks = (
        select(
            active.c.advocate_id,
            (active.c.idx // MASK_BITS).label("chunk"),
            func.bit_or(_bit(active.c.idx % MASK_BITS)).label("mask"),
        )
        .group_by(active.c.advocate_id, "chunk")
        .cte("advocate_masks")
    )
    person_masks = (
        select(
            Connection.source_id,
            advocate_masks.c.chunk,
            func.bit_or(advocate_masks.c.mask).label("mask"),
        )
        .join(
            Connection,
            and_(
                Connection.workspace_id == ws,
                Connection.target_id == advocate_masks.c.advocate_id,
            ),
        )
        .group_by(Connection.source_id, advocate_masks.c.chunk)
        .cte("person_masks")
    )
    return advocate_masks, person_masks


def _reach_per_period(person_masks: CTE) -> Any:
    """(idx, reach): the people whose mask has the period's bit set."""
    # People sharing a mask are counted together: one row per distinct mask, not per person.
    mask_counts = (
        select(person_masks.c.chunk, person_masks.c.mask, func.count().label("people"))
        .group_by(person_masks.c.chunk, person_masks.c.mask)
        .subquery("mask_counts")
    )
    bit = func.generate_series(0, MASK_BITS - 1).table_valued("position").render_derived("bit")
    return (
        select(
            (mask_counts.c.chunk * MASK_BITS + bit.c.position).label("idx"),
            func.sum(mask_counts.c.people).label("reach"),
        )
        .select_from(mask_counts)
        .join(bit, mask_counts.c.mask.op("&")(_bit(bit.c.position)) != 0)
        .group_by("idx")
        .subquery("reach")
    )


def _range_visitors(ws: int, cid: int, tables: PeriodTables) -> Any:
    """The distinct visitors over the whole range, as a scalar subquery."""
    # DISTINCT in a subquery, not count(DISTINCT ...), which always sorts: over most of a
    # campaign's clicks the planner reads ix_clicks_campaign_visitor in visitor order, over a
    # short range it sorts the range's visitors from ix_clicks_campaign_time.
    return (
        select(func.count())
        .select_from(
            select(Click.visitor_id)
            .where(
                _campaign_clicks(ws, cid),
                Click.clicked_at >= tables.start,
                Click.clicked_at < tables.end,
            )
            .distinct()
            .subquery()
        )
        .scalar_subquery()
    )


def _bit(position: Any) -> ColumnElement[int]:
    return literal(1, BigInteger).op("<<")(position)


# --- SQLite (and any other database) -----------------------------------------------------------


def _fill_portable(
    session: DbSession, rows: list[Counts], totals: Counts, tables: PeriodTables, ws: int, cid: int
) -> None:
    """The same figures with range joins on the periods table, ``GROUP BY`` period; the
    totals run the same queries over one period spanning the range."""
    for table, targets in ((tables.series, rows), (tables.whole, [totals])):
        for idx, clicks, visitors in session.execute(
            select(table.c.idx, func.count(Click.id), func.count(distinct(Click.visitor_id)))
            .select_from(table)
            .join(Click, and_(_campaign_clicks(ws, cid), _within(Click.clicked_at, table)))
            .group_by(table.c.idx)
        ):
            targets[idx]["clicks"] = int(clicks)
            targets[idx]["unique_visitors"] = int(visitors)
        _fill_activity(session, targets, table, ws, cid)


def _fill_activity(
    session: DbSession, targets: Sequence[Counts], periods: CTE, ws: int, cid: int
) -> None:
    """Active advocates (an invite, share or click of their link in the period) and the
    distinct people connected to them on the graph (reach)."""
    clicked = (
        select(periods.c.idx.label("idx"), Click.link_id.label("link_id"))
        .select_from(periods)
        .join(Click, and_(_campaign_clicks(ws, cid), _within(Click.clicked_at, periods)))
        .group_by(periods.c.idx, Click.link_id)
        .subquery("clicked")
    )
    active = union(
        *_activity_sources(ws, cid, periods),
        select(clicked.c.idx, ReferralLink.advocate_id).join(
            ReferralLink, ReferralLink.id == clicked.c.link_id
        ),
    ).subquery("active")
    for idx, advocates, reach in session.execute(
        select(
            active.c.idx,
            func.count(distinct(active.c.advocate_id)),
            func.count(distinct(Connection.source_id)),
        )
        .outerjoin(
            Connection,
            and_(Connection.workspace_id == ws, Connection.target_id == active.c.advocate_id),
        )
        .group_by(active.c.idx)
    ):
        targets[idx]["active_advocates"] = int(advocates)
        targets[idx]["reach"] = int(reach)


# --- per advocate --------------------------------------------------------------------------------


def _clicks_per_advocate_postgresql(ws: int, cid: int, start: datetime, end: datetime) -> Any:
    """One ``LATERAL`` subquery per advocate with a link in the campaign. A click's
    campaign and workspace are its link's, so the links scope the clicks (and the scan
    stays index-only)."""
    linked = (
        select(ReferralLink.advocate_id)
        .where(ReferralLink.workspace_id == ws, ReferralLink.campaign_id == cid)
        .distinct()
        .subquery("linked")
    )
    per_advocate = (
        select(
            func.count().label("clicks"),
            func.count(distinct(Click.visitor_id.collate("C"))).label("visitors"),
        )
        .select_from(ReferralLink)
        .join(Click, Click.link_id == ReferralLink.id)
        .where(
            ReferralLink.workspace_id == ws,
            ReferralLink.campaign_id == cid,
            ReferralLink.advocate_id == linked.c.advocate_id,
            Click.clicked_at >= start,
            Click.clicked_at < end,
        )
        .lateral("per_advocate")
    )
    return (
        select(linked.c.advocate_id, per_advocate.c.clicks, per_advocate.c.visitors)
        .select_from(linked.join(per_advocate, true()))
        .where(per_advocate.c.clicks > 0)
    )


def _clicks_per_advocate_portable(ws: int, cid: int, start: datetime, end: datetime) -> Any:
    """The same rows with one ``GROUP BY`` advocate."""
    return (
        select(
            ReferralLink.advocate_id, func.count(Click.id), func.count(distinct(Click.visitor_id))
        )
        .select_from(Click)
        .join(ReferralLink, ReferralLink.id == Click.link_id)
        .where(_campaign_clicks(ws, cid), Click.clicked_at >= start, Click.clicked_at < end)
        .group_by(ReferralLink.advocate_id)
    )


def reach_per_advocate(ws: int, cid: int, start: datetime, end: datetime) -> Any:
    """(advocate, distinct people connected to them) for every advocate who may be active
    in [start, end): those with a link in the campaign or a share in the range."""
    candidates = union(
        select(ReferralLink.advocate_id).where(
            ReferralLink.workspace_id == ws, ReferralLink.campaign_id == cid
        ),
        select(Share.advocate_id).where(
            Share.workspace_id == ws,
            Share.campaign_id == cid,
            Share.occurred_at >= start,
            Share.occurred_at < end,
        ),
    )
    return (
        select(Connection.target_id, func.count(distinct(Connection.source_id)))
        .where(Connection.workspace_id == ws, Connection.target_id.in_(candidates))
        .group_by(Connection.target_id)
    )
