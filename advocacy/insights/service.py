"""Mention volume and sentiment per day, alerts against the trailing baseline, and the
customers with the strongest positive (supporters) or negative (detractors) sentiment.

Counting is done by the database: daily counts are a range join of the mentions on a
``VALUES`` table of local days (as for the campaign KPIs) with ``GROUP BY`` the day; the
rankings ``GROUP BY`` the customer; only the top few rows come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select

from advocacy.advocates.models import AdvocateScore, RankingSnapshot
from advocacy.customers.models import Customer, Mention
from advocacy.graph.sentiment import gate_names
from advocacy.insights import baseline
from advocacy.kpis.service import kpi_periods, periods_table
from advocacy.types import DbSession

# Scores beyond +-0.05 count as positive or negative (VADER's customary neutral band).
NEUTRAL_BAND = 0.05
TOP_CHANNELS = 3
TOP_CUSTOMERS = 5
LATEST_MENTIONS = 3


@dataclass(frozen=True)
class DayReport:
    day: date
    start: datetime
    end: datetime
    volume: int
    negative: int
    positive: int
    negative_share: float | None
    baseline_volume: float
    baseline_negative_share: float
    alert: str | None


def _negative() -> Any:
    return Mention.sentiment < -NEUTRAL_BAND


def _positive() -> Any:
    return Mention.sentiment > NEUTRAL_BAND


def mention_alerts(
    session: DbSession, *, workspace_id: int, first: date, last: date, tz: str
) -> tuple[list[DayReport], list[dict[str, Any]]]:
    """Each day from ``first`` to ``last`` against its trailing baseline, and the alerts."""
    periods = kpi_periods(first - timedelta(days=baseline.WINDOW_DAYS), last, "day", tz)
    p = periods_table(session, periods)
    counts = {
        idx: (int(volume), int(negative or 0), int(positive or 0))
        for idx, volume, negative, positive in session.execute(
            select(
                p.c.idx,
                func.count(Mention.id),
                func.sum(case((_negative(), 1), else_=0)),
                func.sum(case((_positive(), 1), else_=0)),
            )
            .select_from(p)
            .join(
                Mention,
                and_(
                    Mention.workspace_id == workspace_id,
                    Mention.occurred_at >= p.c.lo,
                    Mention.occurred_at < p.c.hi,
                ),
            )
            .group_by(p.c.idx)
        )
    }
    days = [
        baseline.Day(period.label, *counts.get(i, (0, 0, 0))) for i, period in enumerate(periods)
    ]
    found, report = baseline.detect_alerts(days, first)
    bounds = {period.label: period for period in periods}
    directions = {alert.day.day: alert.direction for alert in found}
    reports = [
        DayReport(
            day.day,
            bounds[day.day].start,
            bounds[day.day].end,
            day.volume,
            day.negative,
            day.positive,
            day.negative_share,
            volume.median,
            share.median,
            directions.get(day.day),
        )
        for day, volume, share in report
    ]
    alerts = [
        _explain(
            session, workspace_id, alert, bounds[alert.day.day].start, bounds[alert.day.day].end
        )
        for alert in found
    ]
    return reports, alerts


def _explain(
    session: DbSession, workspace_id: int, alert: baseline.Alert, start: datetime, end: datetime
) -> dict[str, Any]:
    """The alert with its top channels and the customers driving it."""
    in_day = (
        Mention.workspace_id == workspace_id,
        Mention.occurred_at >= start,
        Mention.occurred_at < end,
    )
    channels = session.execute(
        select(Mention.channel, func.count(Mention.id).label("n"))
        .where(*in_day)
        .group_by(Mention.channel)
        .order_by(func.count(Mention.id).desc(), Mention.channel)
        .limit(TOP_CHANNELS)
    ).all()
    tone = _negative() if alert.direction == "crisis" else _positive()
    drivers = session.execute(
        select(Customer.external_id, func.count(Mention.id), func.avg(Mention.sentiment))
        .join(Customer, Customer.id == Mention.customer_id)
        .where(*in_day, tone)
        .group_by(Customer.external_id)
        .order_by(func.count(Mention.id).desc(), Customer.external_id)
        .limit(TOP_CUSTOMERS)
    ).all()
    return {
        "day": alert.day.day,
        "start": start,
        "end": end,
        "direction": alert.direction,
        "volume": alert.day.volume,
        "negative_share": alert.day.negative_share,
        "baseline_volume": alert.volume.median,
        "baseline_negative_share": alert.negative_share.median,
        "volume_z": alert.volume_z,
        "negative_share_z": alert.negative_share_z,
        "top_channels": [{"channel": c, "mentions": int(n)} for c, n in channels],
        "customers": [
            {"customer": e, "mentions": int(n), "mean_sentiment": float(s)} for e, n, s in drivers
        ],
    }


def rank_voices(
    session: DbSession,
    *,
    workspace_id: int,
    first: date,
    last: date,
    tz: str,
    polarity: str,
    limit: int,
) -> list[dict[str, Any]]:
    """Customers by net sentiment (sum of their mentions' scores) over the range, strongest
    first: positive for ``supporters``, negative for ``detractors``, with counts and their
    latest mentions; detractors also with the gates of the latest ranking."""
    periods = kpi_periods(first, last, "month", tz)
    start, end = periods[0].start, periods[-1].end
    net = func.sum(Mention.sentiment)
    supporters = polarity == "supporters"
    ranked = session.execute(
        select(
            Mention.customer_id,
            Customer.external_id,
            func.count(Mention.id),
            func.sum(case((_positive(), 1), else_=0)),
            func.sum(case((_negative(), 1), else_=0)),
            net,
            func.avg(Mention.sentiment),
        )
        .join(Customer, Customer.id == Mention.customer_id)
        .where(
            Mention.workspace_id == workspace_id,
            Mention.occurred_at >= start,
            Mention.occurred_at < end,
        )
        .group_by(Mention.customer_id, Customer.external_id)
        .having(net > 0 if supporters else net < 0)
        .order_by(
            net.desc() if supporters else net.asc(),
            func.count(Mention.id).desc(),
            Customer.external_id,
        )
        .limit(limit)
    ).all()
    ids = [row[0] for row in ranked]
    latest = _latest_mentions(session, workspace_id, ids, start, end)
    gates = {} if supporters else _gates(session, workspace_id, ids)
    out = []
    for customer_id, external_id, count, positive, negative, total, mean in ranked:
        item: dict[str, Any] = {
            "customer": external_id,
            "mentions": int(count),
            "positive": int(positive or 0),
            "negative": int(negative or 0),
            "net_sentiment": float(total),
            "mean_sentiment": float(mean),
            "latest_mentions": latest.get(customer_id, []),
        }
        if not supporters:
            item["ranking"] = gates.get(customer_id)
        out.append(item)
    return out


def _latest_mentions(
    session: DbSession, workspace_id: int, ids: list[int], start: datetime, end: datetime
) -> dict[int, list[dict[str, Any]]]:
    if not ids:
        return {}
    position = (
        func.row_number()
        .over(
            partition_by=Mention.customer_id,
            order_by=(Mention.occurred_at.desc(), Mention.id.desc()),
        )
        .label("position")
    )
    recent = (
        select(
            Mention.customer_id,
            Mention.external_id,
            Mention.channel,
            Mention.sentiment,
            Mention.text,
            Mention.occurred_at,
            position,
        )
        .where(
            Mention.workspace_id == workspace_id,
            Mention.customer_id.in_(ids),
            Mention.occurred_at >= start,
            Mention.occurred_at < end,
        )
        .subquery()
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for row in session.execute(
        select(recent)
        .where(recent.c.position <= LATEST_MENTIONS)
        .order_by(recent.c.customer_id, recent.c.position)
    ):
        out.setdefault(row.customer_id, []).append(
            {
                "external_id": row.external_id,
                "channel": row.channel,
                "sentiment": row.sentiment,
                "text": row.text,
                "occurred_at": row.occurred_at,
            }
        )
    return out


def _gates(session: DbSession, workspace_id: int, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Why the latest ranking gates each customer out (or not); absent when not ranked."""
    snapshot = session.scalar(
        select(RankingSnapshot)
        .where(RankingSnapshot.workspace_id == workspace_id)
        .order_by(RankingSnapshot.version.desc())
        .limit(1)
    )
    if snapshot is None or not ids:
        return {}
    return {
        customer_id: {
            "snapshot_version": snapshot.version,
            "eligible": eligible,
            "gates": gate_names(gate),
        }
        for customer_id, eligible, gate in session.execute(
            select(AdvocateScore.customer_id, AdvocateScore.eligible, AdvocateScore.gate).where(
                AdvocateScore.snapshot_id == snapshot.id, AdvocateScore.customer_id.in_(ids)
            )
        )
    }
