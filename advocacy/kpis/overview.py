"""The workspace at a glance: running campaigns against the previous period, what needs a
person, and a daily series summed over those campaigns.

Running campaigns are the active and paused ones, and those that ended within the two
periods compared (so a campaign that just ended still shows what it did).

Every campaign figure is counted as :func:`advocacy.kpis.service.campaign_kpis` (the API's
KPI endpoint) counts it, for the last ``days`` local days and the ``days`` before them, by
:mod:`advocacy.kpis.headlines` for all the running campaigns and both periods at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select

from advocacy.campaigns.models import Campaign
from advocacy.insights.service import mention_alerts
from advocacy.kpis.headlines import daily_headlines, summed
from advocacy.kpis.maths import local_midnight
from advocacy.kpis.service import campaign_currency, kpi_periods
from advocacy.rewards import rules
from advocacy.rewards.models import Reward
from advocacy.types import DbSession
from advocacy.webhooks.models import WebhookDelivery

HEADLINE = ("clicks", "conversions", "revenue", "reward_cost", "roi")
SERIES = ("clicks", "unique_visitors", "signups", "conversions")
ALERT_DAYS = 7
MAX_CAMPAIGNS = 20  # the overview shows the most recent active campaigns


@dataclass
class CampaignHeadline:
    campaign: Campaign
    currency: str | None
    current: dict[str, Any]
    previous: dict[str, Any]


@dataclass
class Attention:
    held_rewards: int
    alerts: list[dict[str, Any]]
    dead_deliveries: int


@dataclass
class Overview:
    first: date
    last: date
    campaigns: list[CampaignHeadline]
    series: list[dict[str, Any]] = field(default_factory=list)


def local_today(tz: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def workspace_overview(
    session: DbSession, *, workspace_id: int, tz: str, today: date, days: int = 28
) -> Overview:
    """Running campaigns' totals now and in the period before, and their summed series."""
    first, last = today - timedelta(days=days - 1), today
    before_first = first - timedelta(days=days)
    since = local_midnight(before_first, ZoneInfo(tz))
    active = session.scalars(
        select(Campaign)
        .where(
            Campaign.workspace_id == workspace_id,
            or_(
                Campaign.status.in_(("active", "paused")),
                and_(
                    Campaign.status == "ended",
                    func.coalesce(Campaign.ends_at, Campaign.updated_at) >= since,
                ),
            ),
        )
        .order_by(Campaign.id.desc())
        .limit(MAX_CAMPAIGNS)
    ).all()
    periods = kpi_periods(before_first, last, "day", tz)
    daily = daily_headlines(session, workspace_id=workspace_id, campaigns=active, periods=periods)
    overview = Overview(first, last, [])
    for campaign in active:
        rows = daily[campaign.id]
        overview.campaigns.append(
            CampaignHeadline(
                campaign, campaign_currency(campaign), summed(rows[days:]), summed(rows[:days])
            )
        )
    overview.series = [
        {
            "label": period.label,
            **{name: sum(daily[c.id][days + i][name] for c in active) for name in SERIES},
        }
        for i, period in enumerate(periods[days:])
    ]
    return overview


def needs_attention(session: DbSession, workspace_id: int, *, tz: str, today: date) -> Attention:
    """Held rewards to review, listening alerts of the last week, dead webhook deliveries."""
    held = session.scalar(
        select(func.count())
        .select_from(Reward)
        .where(Reward.workspace_id == workspace_id, Reward.state == rules.HELD)
    )
    dead = session.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(WebhookDelivery.state == "dead", WebhookDelivery.workspace_id == workspace_id)
    )
    _, alerts = mention_alerts(
        session,
        workspace_id=workspace_id,
        first=today - timedelta(days=ALERT_DAYS - 1),
        last=today,
        tz=tz,
    )
    return Attention(int(held or 0), alerts, int(dead or 0))
