"""Objective weights (how reasons are ordered, and custom weights), and the ranking order.

The score itself is the expected value of :mod:`advocacy.graph.value`, no longer a weighted
mean of components: the objective decides what counts as value (awareness: people reached
with a positive word; conversion: people who act). These weights say which components
matter most *for that objective* when the reasons are written, and custom weights tilt
the value (:func:`~advocacy.graph.value.custom_tilt`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

COMPONENT_NAMES: tuple[str, ...] = ("engagement", "sentiment", "influence", "reach", "track_record")

# Each row sums to 1. Awareness wants many distinct people to hear a positive voice: reach
# and influence. Conversion wants people whose word sells: engaged customers and proven
# inviters. Consideration sits between. Sentiment always carries real weight because an
# advocate who is lukewarm about the brand is a poor messenger whatever their audience.
OBJECTIVE_WEIGHTS: dict[str, dict[str, float]] = {
    "awareness": {
        "reach": 0.35,
        "influence": 0.30,
        "sentiment": 0.15,
        "engagement": 0.10,
        "track_record": 0.10,
    },
    "consideration": {
        "engagement": 0.25,
        "sentiment": 0.25,
        "influence": 0.20,
        "reach": 0.15,
        "track_record": 0.15,
    },
    "conversion": {
        "engagement": 0.35,
        "track_record": 0.25,
        "sentiment": 0.20,
        "influence": 0.10,
        "reach": 0.10,
    },
}


def resolve_weights(
    objective: str | None, custom: Mapping[str, float] | None = None
) -> dict[str, float]:
    """The weights to use: ``custom`` when given (replacing the objective's), else the
    objective's. Custom weights must name known components, be finite and non-negative and
    not all zero; they are normalised to sum 1 and missing components get 0.

    Raises ``ValueError`` with a message fit for an API error.
    """
    if custom is not None:
        return normalise_weights(custom)
    if objective not in OBJECTIVE_WEIGHTS:
        raise ValueError(
            f"unknown objective {objective!r}; expected one of {sorted(OBJECTIVE_WEIGHTS)}"
        )
    return dict(OBJECTIVE_WEIGHTS[objective])


def normalise_weights(weights: Mapping[str, float]) -> dict[str, float]:
    unknown = sorted(set(weights) - set(COMPONENT_NAMES))
    if unknown:
        raise ValueError(f"unknown components {unknown}; expected some of {list(COMPONENT_NAMES)}")
    values = {name: float(weights.get(name, 0.0)) for name in COMPONENT_NAMES}
    bad = sorted(name for name, w in values.items() if not (math.isfinite(w) and w >= 0))
    if bad:
        raise ValueError(f"weights must be finite and >= 0: {bad}")
    total = sum(values.values())
    if total <= 0:
        raise ValueError("at least one weight must be > 0")
    return {name: w / total for name, w in values.items()}


def rank_order(scores: np.ndarray, eligible: np.ndarray, top: int | None = None) -> np.ndarray:
    """Customer indices ordered by (eligible first, score descending, index ascending).

    Scores may be any finite numbers (expected values are negative for detractors).

    With ``top``, only the first ``top`` are returned, found by partial selection so
    ranking a million customers for a top-100 list does not sort them all.
    """
    n = scores.size
    eligible = np.asarray(eligible, dtype=bool)
    candidates = np.arange(n)
    if top is not None and top < n:
        if top <= 0:
            return np.empty(0, dtype=np.int64)
        # Ineligible customers sort after every eligible one, whatever their scores.
        spread = float(np.max(scores) - np.min(scores)) if n else 0.0
        key = scores + np.where(eligible, 2.0 * spread + 1.0, 0.0)
        threshold = np.partition(key, n - top)[n - top]
        candidates = np.flatnonzero(key >= threshold)  # ties at the threshold included
    # Exact order on the (few) candidates; the combined key above only picks them.
    order = candidates[np.lexsort((candidates, -scores[candidates], ~eligible[candidates]))]
    return order[:top] if top is not None else order
