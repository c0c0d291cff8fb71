"""Campaign KPIs, aggregated by the database per local calendar period.

The local periods are computed in Python with zoneinfo (DST-correct) and sent to the
database as a small ``VALUES`` table of UTC bounds; every count and sum is grouped by period
over indexed (campaign, time) columns, and only one row per period (and currency or state)
comes back. The figures that touch every click (clicks, unique visitors, active advocates,
reach) are in ``activity``. Additive totals are the sums of the series (the periods partition
the range); distinct totals (advocates, active advocates, reach, unique visitors) are counted
over one period spanning the range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    and_,
    bindparam,
    column,
    func,
    literal_column,
    or_,
    select,
    values,
)
from sqlalchemy.sql.elements import Grouping
from sqlalchemy.sql.expression import CTE

from advocacy.campaigns import service as campaigns
from advocacy.campaigns.models import Campaign, Enrollment
from advocacy.errors import Unprocessable
from advocacy.kpis import activity, maths
from advocacy.kpis.flat import flat_rows
from advocacy.kpis.models import Share
from advocacy.links.models import ReferralLink
from advocacy.rewards import rules
from advocacy.rewards.models import Conversion, Referral, Reward
from advocacy.rewards.rules import REFERRAL_REJECTED
from advocacy.types import DbSession, UTCDateTime

MAX_PERIODS = 1000
ISSUED = (rules.ISSUED,)
PENDING = (rules.PENDING, rules.HELD, rules.APPROVED)
Counts = dict[str, Any]


@dataclass(frozen=True)
class CampaignKpis:
    campaign: Campaign
    currency: str | None
    periods: list[maths.Period]
    series: list[dict[str, Any]]
    totals: dict[str, Any]


def get_campaign(session: DbSession, *, workspace_id: int, campaign_id: int) -> Campaign:
    """A campaign of this workspace; NotFound for a missing one or another workspace's."""
    return campaigns.get_campaign(session, workspace_id=workspace_id, campaign_id=campaign_id)


def campaign_currency(campaign: Campaign) -> str | None:
    """Revenue and cost are reported in the inviter reward's currency, else the invitee's."""
    return campaign.inviter_reward_currency or campaign.invitee_reward_currency


def kpi_periods(first: date, last: date, granularity: str, tz: str) -> list[maths.Period]:
    """Local calendar periods from the day ``first`` to the day ``last``, both included."""
    zone = ZoneInfo(tz)
    start = maths.local_midnight(first, zone)
    end = maths.local_midnight(last + timedelta(days=1), zone)
    periods = maths.calendar_periods(start, end, granularity, zone)
    if len(periods) > MAX_PERIODS:
        raise Unprocessable(
            f"At most {MAX_PERIODS} periods; use a coarser granularity or a shorter range.",
            errors={"granularity": [f"More than {MAX_PERIODS} periods."]},
        )
    return periods


def campaign_kpis(
    session: DbSession,
    *,
    workspace_id: int,
    campaign_id: int,
    first: date,
    last: date,
    granularity: str,
    tz: str,
) -> CampaignKpis:
    """Series (one entry per period, empty ones as zeros) and totals of a campaign's KPIs."""
    campaign = get_campaign(session, workspace_id=workspace_id, campaign_id=campaign_id)
    periods = kpi_periods(first, last, granularity, tz)
    currency = campaign_currency(campaign)
    weights = maths.score_weights(campaign.objective, campaign.score_weights)
    series, totals = _count(session, campaign, currency, periods)
    for row in [*series, totals]:
        row.update(maths.derived(row, weights))
    return CampaignKpis(campaign, currency, periods, series, totals)


def periods_table(
    session: DbSession, periods: Sequence[maths.Period], name: str = "periods"
) -> CTE:
    """The periods as a table (idx, lo, hi).

    On PostgreSQL the bounds travel as two array parameters, indexed by a
    ``generate_series`` whose end is written into the statement: SQLAlchemy compiles the
    statement once per number of periods and caches it (a ``VALUES`` list is never cached:
    every KPI query was compiled anew, ~10 ms each), and the planner knows how many periods
    there are even in a generic plan (as it did with ``VALUES``).
    """
    columns = (column("idx", Integer), column("lo", UTCDateTime()), column("hi", UTCDateTime()))
    if session.get_bind().dialect.name != "postgresql":
        rows = [(i, p.start, p.end) for i, p in enumerate(periods)]
        return values(*columns, name=name).data(rows).cte(name)
    last = literal_column(str(len(periods) - 1), Integer)
    index = func.generate_series(literal_column("0", Integer), last).table_valued("idx")
    index = index.render_derived(name=f"{name}_idx")
    lo = Grouping(bindparam(f"{name}_lo", [p.start for p in periods], type_=ARRAY(UTCDateTime())))
    hi = Grouping(bindparam(f"{name}_hi", [p.end for p in periods], type_=ARRAY(UTCDateTime())))
    position = index.c.idx + literal_column("1", Integer)
    return select(index.c.idx.label("idx"), lo[position].label("lo"), hi[position].label("hi")).cte(
        name
    )


def _blank() -> Counts:
    return {
        **{f: 0 for f in (*maths.ADDITIVE, *maths.DISTINCT)},
        "revenue_other_currencies": {},
        "reward_cost_other_currencies": {},
    }


def _count(
    session: DbSession, campaign: Campaign, currency: str | None, periods: Sequence[maths.Period]
) -> tuple[list[Counts], Counts]:
    """The series and the totals. Additive totals are the sums of the series (the periods
    partition the range); distinct ones are counted over one period spanning the range."""
    rows = [_blank() for _ in periods]
    totals = _blank()
    p = periods_table(session, periods)
    start, end = periods[0].start, periods[-1].end
    whole = periods_table(session, [maths.Period(periods[0].label, start, end)], "whole")
    tables = activity.PeriodTables(p, whole, start, end)
    ws, cid = campaign.workspace_id, campaign.id

    def within(moment: Any) -> ColumnElement[bool]:
        return and_(moment >= p.c.lo, moment < p.c.hi)

    def fill(targets: list[Counts], query: Any, *fields: str) -> None:
        for idx, *figures in session.execute(query):
            for field, figure in zip(fields, figures, strict=True):
                targets[idx][field] = int(figure or 0)

    for table, targets in ((p, rows), (whole, [totals])):
        fill(
            targets,
            select(table.c.idx, func.count(Enrollment.id))
            .select_from(table)
            .join(
                Enrollment,
                and_(
                    Enrollment.campaign_id == cid,
                    Enrollment.enrolled_at < table.c.hi,
                    or_(Enrollment.withdrawn_at.is_(None), Enrollment.withdrawn_at >= table.c.lo),
                ),
            )
            .group_by(table.c.idx),
            "advocates",
        )
    fill(
        rows,
        select(p.c.idx, func.count(ReferralLink.id))
        .select_from(p)
        .join(
            ReferralLink,
            and_(
                ReferralLink.workspace_id == ws,
                ReferralLink.campaign_id == cid,
                within(ReferralLink.created_at),
            ),
        )
        .group_by(p.c.idx),
        "invites",
    )
    fill(
        rows,
        select(p.c.idx, func.count(Share.id), func.sum(Share.impressions))
        .select_from(p)
        .join(
            Share,
            and_(Share.workspace_id == ws, Share.campaign_id == cid, within(Share.occurred_at)),
        )
        .group_by(p.c.idx),
        "shares",
        "reported_impressions",
    )
    activity.fill_campaign(session, rows=rows, totals=totals, tables=tables, ws=ws, cid=cid)
    _fill_money(session, rows, p, campaign, currency)
    for field in maths.ADDITIVE:
        totals[field] = sum(row[field] for row in rows)
    for field in ("revenue_other_currencies", "reward_cost_other_currencies"):
        for row in rows:
            for unit, amount in row[field].items():
                totals[field][unit] = totals[field].get(unit, 0) + amount
    return rows, totals


def _fill_money(
    session: DbSession, rows: list[Counts], p: CTE, campaign: Campaign, currency: str | None
) -> None:
    """Sign-ups, conversions and revenue of attributed (not rejected) referrals, and their
    rewards' cost, all in the period of the conversion they belong to."""
    counted = and_(
        Referral.workspace_id == campaign.workspace_id,
        Referral.campaign_id == campaign.id,
        Referral.state != REFERRAL_REJECTED,
    )
    net = func.coalesce(Conversion.amount, 0) - Conversion.refunded_amount
    query = (
        select(
            p.c.idx,
            Conversion.event,
            Conversion.currency,
            func.count(Referral.id),
            func.sum(net),
        )
        .select_from(p)
        .join(
            Conversion,
            and_(
                Conversion.workspace_id == campaign.workspace_id,
                Conversion.occurred_at >= p.c.lo,
                Conversion.occurred_at < p.c.hi,
            ),
        )
        .join(Referral, and_(Referral.conversion_id == Conversion.id, counted))
        .group_by(p.c.idx, Conversion.event, Conversion.currency)
    )
    for idx, event, unit, count, amount in session.execute(query):
        row = rows[idx]
        if event == "signup":
            row["signups"] += int(count)
        if event == campaign.trigger_event:
            row["conversions"] += int(count)
        if event == "purchase" and unit is not None:
            add_money(row, "revenue", unit, currency, int(amount or 0))
    rewards = (
        select(p.c.idx, Reward.state, Reward.currency, func.sum(Reward.amount))
        .select_from(p)
        .join(
            Conversion,
            and_(
                Conversion.workspace_id == campaign.workspace_id,
                Conversion.occurred_at >= p.c.lo,
                Conversion.occurred_at < p.c.hi,
            ),
        )
        .join(
            Reward,
            and_(
                Reward.conversion_id == Conversion.id,
                Reward.campaign_id == campaign.id,
                Reward.state.in_((*ISSUED, *PENDING)),
            ),
        )
        .group_by(p.c.idx, Reward.state, Reward.currency)
    )
    for idx, state, unit, amount in session.execute(rewards):
        if unit is None:  # points are not money
            continue
        field = "reward_cost_issued" if state in ISSUED else "reward_cost_pending"
        add_money(rows[idx], field, unit, currency, int(amount or 0), other="reward_cost")


def add_money(
    row: Counts, field: str, unit: str, currency: str | None, amount: int, other: str = ""
) -> None:
    if unit == currency:
        row[field] += amount
    else:
        bucket = row[f"{other or field}_other_currencies"]
        bucket[unit] = bucket.get(unit, 0) + amount


def as_csv_rows(kpis: CampaignKpis) -> list[dict[str, Any]]:
    """Flat rows for CSV: one per period, then the totals."""
    labelled = [
        {"period": p.label.isoformat(), **row}
        for p, row in zip(kpis.periods, kpis.series, strict=True)
    ]
    return flat_rows([*labelled, {"period": "total", **kpis.totals}])


def rewards_earned(
    session: DbSession, *, campaign: Campaign, periods: Sequence[maths.Period]
) -> int:
    """Rewards (either side, points included) issued or still to pay, of the conversions in
    the periods: the last step of the funnel, counted as ``reward_cost`` is."""
    start, end = periods[0].start, periods[-1].end
    return int(
        session.scalar(
            select(func.count(Reward.id))
            .join(Conversion, Reward.conversion_id == Conversion.id)
            .where(
                Conversion.workspace_id == campaign.workspace_id,
                Conversion.occurred_at >= start,
                Conversion.occurred_at < end,
                Reward.campaign_id == campaign.id,
                Reward.state.in_((*ISSUED, *PENDING)),
            )
        )
        or 0
    )
