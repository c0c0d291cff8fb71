"""KPI formulas and calendar periods: plain numbers and datetimes, no Flask, no SQLAlchemy.

Definitions (also in the README):

- ``conversion_rate`` = conversions / unique_visitors; null when there were no visitors.
- ``reward_cost`` = ``reward_cost_issued`` + ``reward_cost_pending``: rewards in the campaign's
  currency, issued, or still to pay (pending, held, approved); reversed and rejected ones cost
  nothing. Points rewards have no currency and are not a cost.
- ``roi`` = (revenue - reward_cost) / reward_cost; null when the cost is 0.
- ``cpa`` = reward_cost / conversions; null when there were no conversions.
- ``k_factor`` = invites per active advocate x conversions per invite
  (= conversions / active_advocates); null with no active advocates, 0 with active advocates
  but no invites.
- ``program_score`` = weighted mean of three indices in [0, 1]:
  reach = 1 - exp(-reach / (50 x max(advocates, 1))) (0.63 at 50 distinct people reached per
  enrolled advocate); sharing = min(1, active_advocates / advocates) (0 with no advocates);
  monetisation = 1 - exp(-conversion_rate / 0.05) (0.63 at a 5% conversion rate).
  Weights (reach, sharing, monetisation): awareness 0.5/0.4/0.1, consideration 0.3/0.4/0.3,
  conversion 0.1/0.2/0.7; a campaign's ``score_weights`` overrides them (rescaled to sum 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

GRANULARITIES = ("day", "week", "month")
INDICES = ("reach", "sharing", "monetisation")
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "awareness": {"reach": 0.5, "sharing": 0.4, "monetisation": 0.1},
    "consideration": {"reach": 0.3, "sharing": 0.4, "monetisation": 0.3},
    "conversion": {"reach": 0.1, "sharing": 0.2, "monetisation": 0.7},
}
REACH_PER_ADVOCATE = 50.0
CONVERSION_RATE_SCALE = 0.05


@dataclass(frozen=True)
class Period:
    """A local calendar period [start, end) as UTC instants, named by its local first day."""

    label: date
    start: datetime
    end: datetime


def _next_start(day: date, granularity: str) -> date:
    if granularity == "day":
        return day + timedelta(days=1)
    if granularity == "week":
        return day + timedelta(days=7)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _period_start(day: date, granularity: str) -> date:
    if granularity == "week":  # ISO weeks start on Monday
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """Local midnight of ``day`` as a UTC instant (zoneinfo resolves DST gaps and folds)."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def calendar_periods(
    start: datetime, end: datetime, granularity: str, zone: ZoneInfo
) -> list[Period]:
    """The local periods covering [start, end), the first and last clipped to the range."""
    periods: list[Period] = []
    day = _period_start(start.astimezone(zone).date(), granularity)
    while True:
        following = _next_start(day, granularity)
        lower, upper = local_midnight(day, zone), local_midnight(following, zone)
        if lower >= end:
            break
        periods.append(Period(day, max(lower, start), min(upper, end)))
        day = following
    return periods


def ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def roi(revenue: int, cost: int) -> float | None:
    return ratio(revenue - cost, cost)


def k_factor(invites: int, conversions: int, active_advocates: int) -> float | None:
    if active_advocates == 0:
        return None
    if invites == 0:
        return 0.0
    return (invites / active_advocates) * (conversions / invites)


def score_weights(objective: str, overrides: Mapping[str, object] | None) -> dict[str, float]:
    """The objective's weights, or the campaign's overrides rescaled to sum 1."""
    weights = dict(DEFAULT_WEIGHTS.get(objective, DEFAULT_WEIGHTS["consideration"]))
    if overrides:
        given = {
            k: float(v)
            for k, v in overrides.items()
            if k in INDICES and isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
        }
        if given:
            weights = {k: given.get(k, 0.0) for k in INDICES}
    total = sum(weights.values())
    if total <= 0:
        return dict(DEFAULT_WEIGHTS["consideration"])
    return {k: weights[k] / total for k in INDICES}


def program_score(
    *,
    reach: int,
    advocates: int,
    active_advocates: int,
    conversion_rate: float | None,
    weights: Mapping[str, float],
) -> dict[str, float]:
    indices = {
        "reach": 1.0 - math.exp(-reach / (REACH_PER_ADVOCATE * max(advocates, 1))),
        "sharing": min(1.0, active_advocates / advocates) if advocates else 0.0,
        "monetisation": 1.0 - math.exp(-(conversion_rate or 0.0) / CONVERSION_RATE_SCALE),
    }
    score = sum(weights[k] * indices[k] for k in INDICES)
    return {"score": score, **indices}


ADDITIVE = (
    "invites",
    "shares",
    "reported_impressions",
    "clicks",
    "signups",
    "conversions",
    "revenue",
    "reward_cost_issued",
    "reward_cost_pending",
)
DISTINCT = ("advocates", "active_advocates", "reach", "unique_visitors")


def derived(counts: Mapping[str, int], weights: Mapping[str, float]) -> dict[str, object]:
    """Ratios and the program score from one period's (or the totals') counts."""
    cost = counts["reward_cost_issued"] + counts["reward_cost_pending"]
    conversion_rate = ratio(counts["conversions"], counts["unique_visitors"])
    return {
        "conversion_rate": conversion_rate,
        "reward_cost": cost,
        "roi": roi(counts["revenue"], cost),
        "cpa": ratio(cost, counts["conversions"]),
        "k_factor": k_factor(counts["invites"], counts["conversions"], counts["active_advocates"]),
        "program_score": program_score(
            reach=counts["reach"],
            advocates=counts["advocates"],
            active_advocates=counts["active_advocates"],
            conversion_rate=conversion_rate,
            weights=weights,
        ),
    }
