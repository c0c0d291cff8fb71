"""Experiment statistics and allocation: plain numbers, no Flask, no SQLAlchemy.

- Assignment: SHA-256 of ``"<campaign id>:<external id>"`` (of the advocate or the invitee, as
  the experiment's unit says), its first 8 bytes as a fraction of 2^64, placed on the
  cumulative variant weights: deterministic, and recorded once, so sticky.
- Rate = converted units / exposed (assigned) units, with a 95% Wilson score interval.
- Each variant against the control: lift = (rate - control rate) / control rate (null when
  the control rate is 0); two-sided, pooled two-proportion z-test.
- A variant wins only when its lift is positive, its p-value is below 0.05 / (variants - 1)
  (Bonferroni), and it and the control both reached the experiment's ``min_sample``.
- Sample still needed: per arm, for 80% power at that alpha to detect the observed
  difference, and at least ``min_sample``; minus what the arm has.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

ALPHA = 0.05
POWER = 0.8


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def normal_quantile(p: float) -> float:
    """The z with P(Z <= z) = p (Acklam's rational approximation, refined by one Halley step)."""
    if not 0 < p < 1:
        raise ValueError("p must be in (0, 1)")
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01)  # fmt: skip
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
         -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
         3.754408661907416e00)  # fmt: skip
    low = 0.02425
    if p < low:
        q = math.sqrt(-2 * math.log(p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    elif p <= 1 - low:
        q = p - 0.5
        r = q * q
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        )
    else:
        return -normal_quantile(1 - p)
    error = 0.5 * math.erfc(-x / math.sqrt(2)) - p
    u = error * math.sqrt(2 * math.pi) * math.exp(x * x / 2)
    return x - u / (1 + x * u / 2)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    if trials == 0:
        return (0.0, 1.0)
    z = normal_quantile(1 - (1 - confidence) / 2)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_p_value(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled z-test of x1/n1 = x2/n2; null when undefined."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance == 0:
        return None
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return 2 * normal_sf(abs(z))


def sample_per_arm(p1: float, p2: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Units per arm to detect p1 vs p2 (two-sided); null when they are equal."""
    if p1 == p2:
        return None
    z_a, z_b = normal_quantile(1 - alpha / 2), normal_quantile(power)
    mean = (p1 + p2) / 2
    root = z_a * math.sqrt(2 * mean * (1 - mean)) + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root * root / ((p1 - p2) ** 2))


def assign_variant(campaign_id: int, external_id: str, weights: Sequence[int]) -> int:
    """Index of the variant for this unit: deterministic, proportional to ``weights``."""
    digest = hashlib.sha256(f"{campaign_id}:{external_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * sum(weights)
    running = 0
    for index, weight in enumerate(weights):
        running += weight
        if point < running:
            return index
    return len(weights) - 1


@dataclass(frozen=True)
class Arm:
    name: str
    control: bool
    weight: int
    exposures: int
    conversions: int
    revenue: int


def compare(arms: Sequence[Arm], min_sample: int) -> list[dict[str, object]]:
    """Per arm: rate with its 95% interval, revenue per exposure, and against the control:
    lift, p-value, significance, winning, and the sample still needed."""
    control = next(a for a in arms if a.control)
    alpha = ALPHA / max(1, len(arms) - 1)
    control_rate = control.conversions / control.exposures if control.exposures else 0.0
    out = []
    for arm in arms:
        rate = arm.conversions / arm.exposures if arm.exposures else None
        low, high = wilson_interval(arm.conversions, arm.exposures)
        row: dict[str, object] = {
            "name": arm.name,
            "control": arm.control,
            "weight": arm.weight,
            "exposures": arm.exposures,
            "conversions": arm.conversions,
            "rate": rate,
            "rate_ci_low": low,
            "rate_ci_high": high,
            "revenue": arm.revenue,
            "revenue_per_exposure": arm.revenue / arm.exposures if arm.exposures else None,
            "lift": None,
            "p_value": None,
            "significant": False,
            "winning": False,
            "sample_needed": None,
        }
        if not arm.control:
            p_value = two_proportion_p_value(
                arm.conversions, arm.exposures, control.conversions, control.exposures
            )
            lift = (
                (rate - control_rate) / control_rate if rate is not None and control_rate else None
            )
            significant = p_value is not None and p_value < alpha
            enough = min(arm.exposures, control.exposures) >= min_sample
            needed = sample_per_arm(rate, control_rate, alpha) if rate is not None else None
            target = max(min_sample, needed or 0)
            row.update(
                lift=lift,
                p_value=p_value,
                significant=significant,
                winning=significant and enough and rate is not None and rate > control_rate,
                sample_needed=max(0, target - min(arm.exposures, control.exposures)),
            )
        out.append(row)
    return out
