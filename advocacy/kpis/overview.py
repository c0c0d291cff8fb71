"""The workspace at a glance: running campaigns against the previous period, what needs a
person, and a daily series summed over those campaigns.

Running campaigns are the active and paused ones, and those that ended within the two
periods compared (so a campaign that just ended still shows what it did).

Every campaign figure comes from :func:`advocacy.kpis.service.campaign_kpis` (the API's
KPI endpoint), for the last ``days`` local days and the ``days`` before them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select

from advocacy.campaigns.models import Campaign
from advocacy.insights.service import mention_alerts
from advocacy.kpis.maths import local_midnight
from advocacy.kpis.service import CampaignKpis, campaign_kpis
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
    before_first, before_last = first - timedelta(days=days), first - timedelta(days=1)
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
    overview = Overview(first, last, [])
    summed: list[dict[str, Any]] | None = None
    for campaign in active:

        def kpis(a: date, b: date, granularity: str, cid: int = campaign.id) -> CampaignKpis:
            return campaign_kpis(
                session,
                workspace_id=workspace_id,
                campaign_id=cid,
                first=a,
                last=b,
                granularity=granularity,
                tz=tz,
            )

        now = kpis(first, last, "day")
        before = kpis(before_first, before_last, "month" if days > 31 else "day")
        overview.campaigns.append(
            CampaignHeadline(campaign, now.currency, now.totals, before.totals)
        )
        if summed is None:
            summed = [{"label": p.label, **{name: 0 for name in SERIES}} for p in now.periods]
        for row, point in zip(summed, now.series, strict=True):
            for name in SERIES:
                row[name] += point.get(name) or 0
    overview.series = summed or [
        {"label": (first + timedelta(days=i)).isoformat(), **{name: 0 for name in SERIES}}
        for i in range(days)
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
