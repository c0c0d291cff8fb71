"""Robust baselines and alert directions, without a database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from advocacy.insights.baseline import WINDOW_DAYS, Day, detect_alerts, robust_baseline

START = date(2026, 3, 1)


def history(volume: int = 10, negative: int = 1, positive: int = 5) -> list[Day]:
    return [
        Day(START - timedelta(days=WINDOW_DAYS - i), volume + i % 3, negative, positive)
        for i in range(WINDOW_DAYS)
    ]


def test_median_and_scaled_mad() -> None:
    base = robust_baseline([1, 2, 3, 4, 100], floor=0.0)
    assert base.median == 3
    assert base.spread == pytest.approx(1.4826 * 1)


def test_a_flat_history_uses_the_floor() -> None:
    assert robust_baseline([2, 2, 2], floor=1.0).spread == 1.0
    assert robust_baseline([], floor=1.0).median == 0.0


def test_an_ordinary_day_is_no_alert() -> None:
    alerts, report = detect_alerts([*history(), Day(START, 11, 1, 5)], START)
    assert alerts == []
    assert len(report) == 1


def test_a_negative_spike_is_a_crisis() -> None:
    (alert,), _ = detect_alerts([*history(), Day(START, 12, 9, 1)], START)
    assert alert.direction == "crisis"
    assert alert.negative_share_z is not None and alert.negative_share_z > 3.5


def test_a_positive_volume_spike_is_a_praise_surge() -> None:
    (alert,), _ = detect_alerts([*history(), Day(START, 60, 2, 50)], START)
    assert alert.direction == "praise_surge"
    assert alert.volume_z > 3.5


def test_a_loud_negative_volume_spike_is_a_crisis() -> None:
    (alert,), _ = detect_alerts([*history(volume=10, negative=4), Day(START, 60, 31, 20)], START)
    assert alert.direction == "crisis"


def test_a_high_negative_share_on_few_mentions_is_no_alert() -> None:
    quiet = [Day(d.day, 3, 0, 2) for d in history()]
    alerts, _ = detect_alerts([*quiet, Day(START, 3, 3, 0)], START)
    assert alerts == []
