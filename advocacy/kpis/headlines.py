"""The few KPIs the Overview shows, for every running campaign at once, per local day.

:func:`advocacy.kpis.service.campaign_kpis` counts everything a campaign's page shows
(reach, active advocates, distinct totals...) for one campaign. The Overview needs only
additive figures (clicks, sign-ups, conversions, revenue, reward cost) and each day's unique
visitors, for up to twenty campaigns and two periods: three grouped statements for all the
campaigns and both periods together, instead of two full computations per campaign. The
figures are counted exactly as ``campaign_kpis`` counts them (same joins, same states, same
currency rule); ``tests/kpis/test_headlines.py`` checks that they agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, BigInteger, and_, bindparam, distinct, func, select, true

from advocacy.campaigns.models import Campaign
from advocacy.kpis import maths
from advocacy.kpis.activity import on_postgresql
from advocacy.kpis.service import ISSUED, PENDING, add_money, campaign_currency, periods_table
from advocacy.links.models import Click
from advocacy.rewards.models import Conversion, Referral, Reward
from advocacy.rewards.rules import REFERRAL_REJECTED
from advocacy.types import DbSession

Counts = dict[str, Any]
FIELDS = (
    "clicks",
    "unique_visitors",
    "signups",
    "conversions",
    "revenue",
    "reward_cost_issued",
    "reward_cost_pending",
)


def _blank() -> Counts:
    return {
        **dict.fromkeys(FIELDS, 0),
        "revenue_other_currencies": {},
        "reward_cost_other_currencies": {},
    }


def daily_headlines(
    session: DbSession,
    *,
    workspace_id: int,
    campaigns: Sequence[Campaign],
    periods: Sequence[maths.Period],
) -> dict[int, list[Counts]]:
    """Campaign id -> one row of counts per period (zeros where nothing happened)."""
    rows = {c.id: [_blank() for _ in periods] for c in campaigns}
    if not campaigns:
        return rows
    p = periods_table(session, periods)
    ids = list(rows)
    for cid, idx, clicks, visitors in session.execute(_clicks(session, p, workspace_id, ids)):
        row = rows[cid][idx]
        row["clicks"], row["unique_visitors"] = int(clicks), int(visitors)
    by_id = {c.id: c for c in campaigns}
    currencies = {c.id: campaign_currency(c) for c in campaigns}
    for cid, idx, event, unit, count, amount in session.execute(_money(p, workspace_id, ids)):
        row = rows[cid][idx]
        if event == "signup":
            row["signups"] += int(count)
        if event == by_id[cid].trigger_event:
            row["conversions"] += int(count)
        if event == "purchase" and unit is not None:
            add_money(row, "revenue", unit, currencies[cid], int(amount or 0))
    for cid, idx, state, unit, amount in session.execute(_rewards(p, workspace_id, ids)):
        if unit is None:  # points are not money
            continue
        field = "reward_cost_issued" if state in ISSUED else "reward_cost_pending"
        add_money(rows[cid][idx], field, unit, currencies[cid], int(amount or 0), "reward_cost")
    return rows


def summed(rows: Sequence[Counts]) -> Counts:
    """The additive totals of some periods, with reward cost and ROI as ``maths`` derives
    them (unique visitors are not additive and are left out)."""
    totals = {field: sum(row[field] for row in rows) for field in FIELDS}
    del totals["unique_visitors"]
    cost = totals["reward_cost_issued"] + totals["reward_cost_pending"]
    return {**totals, "reward_cost": cost, "roi": maths.roi(totals["revenue"], cost)}


def _clicks(session: DbSession, p: Any, ws: int, ids: list[int]) -> Any:
    """(campaign, period, clicks, distinct visitors). On PostgreSQL one LATERAL range scan
    of ``ix_clicks_campaign_time`` per campaign and period, as ``activity`` counts them."""
    if on_postgresql(session):
        given = bindparam("campaign_ids", ids, type_=ARRAY(BigInteger))
        campaign_ids = select(func.unnest(given).column_valued("cid")).subquery("campaign_ids")
        per_period = (
            select(
                func.count().label("clicks"),
                func.count(distinct(Click.visitor_id.collate("C"))).label("visitors"),
            )
            .where(
                Click.workspace_id == ws,
                Click.campaign_id == campaign_ids.c.cid,
                Click.clicked_at >= p.c.lo,
                Click.clicked_at < p.c.hi,
            )
            .lateral("per_period")
        )
        return (
            select(campaign_ids.c.cid, p.c.idx, per_period.c.clicks, per_period.c.visitors)
            .select_from(campaign_ids.join(p, true()).join(per_period, true()))
            .where(per_period.c.clicks > 0)
        )
    return (
        select(
            Click.campaign_id, p.c.idx, func.count(Click.id), func.count(distinct(Click.visitor_id))
        )
        .select_from(p)
        .join(
            Click,
            and_(
                Click.workspace_id == ws,
                Click.campaign_id.in_(ids),
                Click.clicked_at >= p.c.lo,
                Click.clicked_at < p.c.hi,
            ),
        )
        .group_by(Click.campaign_id, p.c.idx)
    )


def _money(p: Any, ws: int, ids: list[int]) -> Any:
    """(campaign, period, event, currency, referrals, net amount) of the attributed (not
    rejected) referrals' conversions, from the campaigns' referrals."""
    net = func.coalesce(Conversion.amount, 0) - Conversion.refunded_amount
    return (
        select(
            Referral.campaign_id,
            p.c.idx,
            Conversion.event,
            Conversion.currency,
            func.count(Referral.id),
            func.sum(net),
        )
        .select_from(Referral)
        .join(Conversion, Conversion.id == Referral.conversion_id)
        .join(p, and_(Conversion.occurred_at >= p.c.lo, Conversion.occurred_at < p.c.hi))
        .where(
            Referral.workspace_id == ws,
            Referral.campaign_id.in_(ids),
            Referral.state != REFERRAL_REJECTED,
            Conversion.workspace_id == ws,
        )
        .group_by(Referral.campaign_id, p.c.idx, Conversion.event, Conversion.currency)
    )


def _rewards(p: Any, ws: int, ids: list[int]) -> Any:
    """(campaign, period, state, currency, amount) of the rewards issued or still to pay,
    in the period of the conversion they belong to."""
    return (
        select(Reward.campaign_id, p.c.idx, Reward.state, Reward.currency, func.sum(Reward.amount))
        .select_from(Reward)
        .join(Conversion, Conversion.id == Reward.conversion_id)
        .join(p, and_(Conversion.occurred_at >= p.c.lo, Conversion.occurred_at < p.c.hi))
        .where(
            Reward.campaign_id.in_(ids),
            Reward.state.in_((*ISSUED, *PENDING)),
            Conversion.workspace_id == ws,
        )
        .group_by(Reward.campaign_id, p.c.idx, Reward.state, Reward.currency)
    )
