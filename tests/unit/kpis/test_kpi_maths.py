"""The KPI formulas and calendar periods, without a database."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from advocacy.kpis import maths

BERLIN = ZoneInfo("Europe/Berlin")


def test_roi_is_null_when_nothing_was_spent() -> None:
    assert maths.roi(500, 0) is None
    assert maths.roi(300, 100) == 2.0
    assert maths.roi(0, 100) == -1.0


def test_k_factor_without_advocates_or_invites() -> None:
    assert maths.k_factor(invites=0, conversions=0, active_advocates=0) is None
    assert maths.k_factor(invites=0, conversions=0, active_advocates=3) == 0.0
    assert maths.k_factor(invites=4, conversions=2, active_advocates=2) == 1.0


def test_weights_follow_the_objective_and_sum_to_one() -> None:
    for objective in maths.DEFAULT_WEIGHTS:
        assert sum(maths.score_weights(objective, None).values()) == pytest.approx(1)
    awareness = maths.score_weights("awareness", None)
    conversion = maths.score_weights("conversion", None)
    assert awareness["reach"] > conversion["reach"]
    assert conversion["monetisation"] > awareness["monetisation"]


def test_overrides_are_rescaled_and_junk_is_ignored() -> None:
    weights = maths.score_weights("awareness", {"reach": 3, "monetisation": 1, "other": 9})
    assert weights == {"reach": 0.75, "sharing": 0.0, "monetisation": 0.25}
    assert maths.score_weights("awareness", {"reach": "x"}) == maths.score_weights(
        "awareness", None
    )


def test_indices_stay_in_the_unit_interval() -> None:
    weights = maths.score_weights("conversion", None)
    big = maths.program_score(
        reach=10**9, advocates=1, active_advocates=5, conversion_rate=50.0, weights=weights
    )
    assert all(0.0 <= v <= 1.0 for v in big.values())
    assert big["sharing"] == 1.0
    half = maths.program_score(
        reach=50, advocates=1, active_advocates=0, conversion_rate=None, weights=weights
    )
    assert half["reach"] == pytest.approx(1 - math.exp(-1))
    assert half["monetisation"] == 0.0


def test_berlin_spring_forward_day_has_23_hours() -> None:
    start = maths.local_midnight(date(2026, 3, 29), BERLIN)
    end = maths.local_midnight(date(2026, 3, 30), BERLIN)
    (period,) = maths.calendar_periods(start, end, "day", BERLIN)
    assert (period.end - period.start).total_seconds() == 23 * 3600


def test_berlin_fall_back_day_has_25_hours() -> None:
    start = maths.local_midnight(date(2026, 10, 25), BERLIN)
    end = maths.local_midnight(date(2026, 10, 26), BERLIN)
    (period,) = maths.calendar_periods(start, end, "day", BERLIN)
    assert (period.end - period.start).total_seconds() == 25 * 3600


def test_months_cross_the_year() -> None:
    start = datetime(2025, 12, 1, tzinfo=UTC)
    end = datetime(2026, 2, 1, tzinfo=UTC)
    labels = [p.label for p in maths.calendar_periods(start, end, "month", ZoneInfo("UTC"))]
    assert labels == [date(2025, 12, 1), date(2026, 1, 1)]


def test_periods_partition_the_range() -> None:
    start = maths.local_midnight(date(2026, 3, 1), BERLIN)
    end = maths.local_midnight(date(2026, 5, 1), BERLIN)
    periods = maths.calendar_periods(start, end, "week", BERLIN)
    assert periods[0].start == start and periods[-1].end == end
    assert all(a.end == b.start for a, b in zip(periods, periods[1:], strict=False))
