"""Experiment statistics checked against scipy.stats on fixed data."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from scipy import stats as scipy_stats

from advocacy.experiments import stats


@pytest.mark.parametrize("p", [1e-6, 0.001, 0.02, 0.3, 0.5, 0.8, 0.975, 0.999999])
def test_normal_quantile_matches_scipy(p: float) -> None:
    assert stats.normal_quantile(p) == pytest.approx(scipy_stats.norm.ppf(p), abs=1e-9)


@pytest.mark.parametrize(("x", "n"), [(0, 20), (30, 200), (7, 7), (1, 3), (450, 1000)])
def test_wilson_interval_matches_scipy(x: int, n: int) -> None:
    expected = scipy_stats.binomtest(x, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert stats.wilson_interval(x, n) == pytest.approx((expected.low, expected.high), abs=1e-9)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"), [(30, 200, 45, 210), (5, 50, 15, 48), (120, 1000, 100, 1000)]
)
def test_two_proportion_p_value_matches_scipy(x1: int, n1: int, x2: int, n2: int) -> None:
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    expected = 2 * scipy_stats.norm.sf(abs(z))
    assert stats.two_proportion_p_value(x1, n1, x2, n2) == pytest.approx(expected, rel=1e-9)
    # The same test as a chi-square on the 2x2 table, without continuity correction.
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    chi2 = scipy_stats.chi2_contingency(table, correction=False)
    assert stats.two_proportion_p_value(x1, n1, x2, n2) == pytest.approx(chi2.pvalue, rel=1e-9)


def test_undefined_p_values_are_null() -> None:
    assert stats.two_proportion_p_value(0, 0, 1, 10) is None
    assert stats.two_proportion_p_value(0, 10, 0, 10) is None


def test_sample_per_arm_textbook_case() -> None:
    # 10% vs 15% at alpha 0.05, power 0.8: 686 per arm (Fleiss, without continuity correction)
    assert stats.sample_per_arm(0.10, 0.15) == 686
    assert stats.sample_per_arm(0.2, 0.2) is None


def test_assignment_is_deterministic_and_follows_the_weights() -> None:
    picks = [stats.assign_variant(7, f"adv-{i}", [1, 3]) for i in range(4000)]
    assert picks == [stats.assign_variant(7, f"adv-{i}", [1, 3]) for i in range(4000)]
    share = Counter(picks)[1] / len(picks)
    assert 0.72 < share < 0.78


def arms(control: tuple[int, int], variant: tuple[int, int]) -> list[stats.Arm]:
    return [
        stats.Arm("one_way", True, 1, control[0], control[1], 0),
        stats.Arm("two_way", False, 1, variant[0], variant[1], 5000),
    ]


def test_a_significant_better_variant_with_enough_sample_wins() -> None:
    _, variant = stats.compare(arms((1000, 100), (1000, 150)), min_sample=500)
    assert variant["lift"] == pytest.approx(0.5)
    assert variant["significant"] and variant["winning"]
    assert variant["sample_needed"] == 0
    assert variant["revenue_per_exposure"] == 5.0


def test_no_winner_below_the_minimum_sample() -> None:
    _, variant = stats.compare(arms((1000, 100), (1000, 150)), min_sample=2000)
    assert variant["significant"] and not variant["winning"]
    assert variant["sample_needed"] == 1000


def test_no_winner_without_significance() -> None:
    _, variant = stats.compare(arms((100, 10), (100, 12)), min_sample=10)
    assert not variant["significant"] and not variant["winning"]
    assert variant["sample_needed"] == stats.sample_per_arm(0.12, 0.10) - 100
