"""Robust daily baselines and alerts: plain numbers, no Flask, no SQLAlchemy.

For each day, the baseline is the median of the previous ``WINDOW_DAYS`` days (days without
mentions count as 0), and the spread is the MAD scaled by 1.4826 (the standard deviation for
normal data), floored so that a perfectly flat history does not turn one extra mention into an
alert: at least 1 mention for volume and 0.05 for the negative share. A day is an alert when
its robust z-score ``(x - median) / spread`` reaches ``THRESHOLD`` for volume, or for the
negative share on a day with at least ``MIN_MENTIONS`` mentions. Direction: ``crisis`` when the
negative share spiked, or the volume spiked with more negative than positive mentions;
``praise_surge`` otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from statistics import median

WINDOW_DAYS = 28
THRESHOLD = 3.5
MIN_MENTIONS = 5
MAD_SCALE = 1.4826
VOLUME_FLOOR = 1.0
SHARE_FLOOR = 0.05


@dataclass(frozen=True)
class Day:
    day: date
    volume: int
    negative: int
    positive: int

    @property
    def negative_share(self) -> float | None:
        return self.negative / self.volume if self.volume else None


@dataclass(frozen=True)
class Baseline:
    median: float
    spread: float

    def z(self, value: float) -> float:
        return (value - self.median) / self.spread


@dataclass(frozen=True)
class Alert:
    day: Day
    direction: str
    volume: Baseline
    negative_share: Baseline
    volume_z: float
    negative_share_z: float | None


def robust_baseline(values: Sequence[float], floor: float) -> Baseline:
    """Median and scaled MAD of ``values`` (the spread at least ``floor``)."""
    if not values:
        return Baseline(0.0, floor)
    middle = median(values)
    mad = median(abs(v - middle) for v in values)
    return Baseline(float(middle), max(MAD_SCALE * float(mad), floor))


def detect_alerts(
    days: Sequence[Day], first: date, *, threshold: float = THRESHOLD
) -> tuple[list[Alert], list[tuple[Day, Baseline, Baseline]]]:
    """``days`` is consecutive, starting ``WINDOW_DAYS`` before ``first``. Returns the alerts
    and, for each day from ``first`` on, the day with its volume and negative-share baselines."""
    alerts: list[Alert] = []
    report: list[tuple[Day, Baseline, Baseline]] = []
    for i, today in enumerate(days):
        if today.day < first:
            continue
        history = days[max(0, i - WINDOW_DAYS) : i]
        volume = robust_baseline([d.volume for d in history], VOLUME_FLOOR)
        shares = [s for d in history if (s := d.negative_share) is not None]
        share = robust_baseline(shares, SHARE_FLOOR)
        report.append((today, volume, share))
        volume_z = volume.z(today.volume)
        current = today.negative_share
        share_z = share.z(current) if current is not None else None
        share_spike = share_z is not None and share_z >= threshold and today.volume >= MIN_MENTIONS
        if volume_z >= threshold or share_spike:
            crisis = share_spike or today.negative > today.positive
            alerts.append(
                Alert(
                    today,
                    "crisis" if crisis else "praise_surge",
                    volume,
                    share,
                    volume_z,
                    share_z,
                )
            )
    return alerts, report
