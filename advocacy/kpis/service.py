"""Campaign KPIs, aggregated by the database per local calendar period.

The local periods are computed in Python with zoneinfo (DST-correct), sent to the database as
a small ``VALUES`` table of UTC bounds, and every count and sum is a range join on it with
``GROUP BY`` the period: the same SQL on SQLite and PostgreSQL, over the indexed
(campaign, time) columns, and only one row per period (and currency or state) comes back.
Totals run the same queries over one period spanning the whole range, so distinct counts
(advocates, active advocates, reach, unique visitors) are distinct over the range, and the
additive fields equal the sum of the series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    column,
    distinct,
    func,
    or_,
    select,
    union,
    values,
)
from sqlalchemy.sql.expression import CTE

from advocacy.campaigns import service as campaigns
from advocacy.campaigns.models import Campaign, Enrollment
from advocacy.customers.models import Connection
from advocacy.errors import Unprocessable
from advocacy.kpis import maths
from advocacy.kpis.flat import flat_rows
from advocacy.kpis.models import Share
from advocacy.links.models import Click, ReferralLink
from advocacy.rewards.models import Conversion, Referral, Reward
from advocacy.types import DbSession, UTCDateTime

MAX_PERIODS = 1000
ISSUED = ("issued",)
PENDING = ("pending", "held", "approved")
Counts = dict[str, Any]


@dataclass(frozen=True)
class CampaignKpis:
    campaign: Campaign
    currency: str | None
    periods: list[maths.Period]
    series: list[dict[str, Any]]
    totals: dict[str, Any]


def get_campaign(session: DbSession, workspace_id: int, campaign_id: int) -> Campaign:
    """A campaign of this workspace; NotFound for a missing one or another workspace's."""
    return campaigns.get_campaign(session, workspace_id, campaign_id)


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
    campaign = get_campaign(session, workspace_id, campaign_id)
    periods = kpi_periods(first, last, granularity, tz)
    whole = [maths.Period(periods[0].label, periods[0].start, periods[-1].end)]
    currency = campaign_currency(campaign)
    weights = maths.score_weights(campaign.objective, campaign.score_weights)
    series = _count(session, campaign, currency, periods)
    totals = _count(session, campaign, currency, whole)[0]
    for row in [*series, totals]:
        row.update(maths.derived(row, weights))
    return CampaignKpis(campaign, currency, periods, series, totals)


def periods_table(periods: Sequence[maths.Period]) -> CTE:
    table = values(
        column("idx", Integer),
        column("lo", UTCDateTime()),
        column("hi", UTCDateTime()),
        name="periods",
    ).data([(i, p.start, p.end) for i, p in enumerate(periods)])
    return table.cte("periods")


def _count(
    session: DbSession, campaign: Campaign, currency: str | None, periods: Sequence[maths.Period]
) -> list[Counts]:
    rows: list[Counts] = [
        {
            **{f: 0 for f in (*maths.ADDITIVE, *maths.DISTINCT)},
            "revenue_other_currencies": {},
            "reward_cost_other_currencies": {},
        }
        for _ in periods
    ]
    p = periods_table(periods)
    ws, cid = campaign.workspace_id, campaign.id

    def within(moment: Any) -> ColumnElement[bool]:
        return and_(moment >= p.c.lo, moment < p.c.hi)

    def fill(query: Any, *fields: str) -> None:
        for idx, *figures in session.execute(query):
            for field, figure in zip(fields, figures, strict=True):
                rows[idx][field] = int(figure or 0)

    fill(
        select(p.c.idx, func.count(Enrollment.id))
        .select_from(p)
        .join(
            Enrollment,
            and_(
                Enrollment.campaign_id == cid,
                Enrollment.enrolled_at < p.c.hi,
                or_(Enrollment.withdrawn_at.is_(None), Enrollment.withdrawn_at >= p.c.lo),
            ),
        )
        .group_by(p.c.idx),
        "advocates",
    )
    fill(
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
    fill(
        select(p.c.idx, func.count(Click.id), func.count(distinct(Click.visitor_id)))
        .select_from(p)
        .join(
            Click,
            and_(Click.workspace_id == ws, Click.campaign_id == cid, within(Click.clicked_at)),
        )
        .group_by(p.c.idx),
        "clicks",
        "unique_visitors",
    )
    _fill_activity(session, rows, p, ws, cid)
    _fill_money(session, rows, p, campaign, currency)
    return rows


def _fill_activity(session: DbSession, rows: list[Counts], p: CTE, ws: int, cid: int) -> None:
    """Active advocates (an invite, share or click of their link in the period) and the
    distinct people connected to them on the graph (reach)."""

    def within(moment: Any) -> ColumnElement[bool]:
        return and_(moment >= p.c.lo, moment < p.c.hi)

    # Clicks are grouped by (period, link) first: a few thousand rows, not one per click.
    clicked = (
        select(p.c.idx.label("idx"), Click.link_id.label("link_id"))
        .select_from(p)
        .join(
            Click,
            and_(Click.workspace_id == ws, Click.campaign_id == cid, within(Click.clicked_at)),
        )
        .group_by(p.c.idx, Click.link_id)
        .subquery("clicked")
    )
    active = union(
        select(p.c.idx.label("idx"), ReferralLink.advocate_id.label("advocate_id"))
        .select_from(p)
        .join(
            ReferralLink,
            and_(
                ReferralLink.workspace_id == ws,
                ReferralLink.campaign_id == cid,
                within(ReferralLink.created_at),
            ),
        ),
        select(p.c.idx, Share.advocate_id)
        .select_from(p)
        .join(
            Share,
            and_(Share.workspace_id == ws, Share.campaign_id == cid, within(Share.occurred_at)),
        ),
        select(clicked.c.idx, ReferralLink.advocate_id).join(
            ReferralLink, ReferralLink.id == clicked.c.link_id
        ),
    ).subquery("active")
    # One pass: the active advocates and the distinct people connected to them.
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
        rows[idx]["active_advocates"] = int(advocates)
        rows[idx]["reach"] = int(reach)


def _fill_money(
    session: DbSession, rows: list[Counts], p: CTE, campaign: Campaign, currency: str | None
) -> None:
    """Sign-ups, conversions and revenue of attributed (not rejected) referrals, and their
    rewards' cost, all in the period of the conversion they belong to."""
    counted = and_(
        Referral.workspace_id == campaign.workspace_id,
        Referral.campaign_id == campaign.id,
        Referral.state != "rejected",
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
