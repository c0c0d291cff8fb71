"""Objective weights, custom weights, and the ranking order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from advocacy.graph.scoring import (
    COMPONENT_NAMES,
    OBJECTIVE_WEIGHTS,
    rank_order,
    resolve_weights,
)


def test_objective_weights_are_complete_and_sum_to_one() -> None:
    assert set(OBJECTIVE_WEIGHTS) == {"awareness", "consideration", "conversion"}
    for weights in OBJECTIVE_WEIGHTS.values():
        assert set(weights) == set(COMPONENT_NAMES)
        assert sum(weights.values()) == pytest.approx(1.0)
        assert weights["sentiment"] > 0


def test_objectives_lean_where_documented() -> None:
    awareness, conversion = OBJECTIVE_WEIGHTS["awareness"], OBJECTIVE_WEIGHTS["conversion"]
    assert (
        awareness["reach"] + awareness["influence"] > conversion["reach"] + conversion["influence"]
    )
    assert (
        conversion["engagement"] + conversion["track_record"]
        > awareness["engagement"] + awareness["track_record"]
    )


def test_custom_weights_are_normalised_and_missing_components_are_zero() -> None:
    weights = resolve_weights("awareness", {"engagement": 3, "sentiment": 1})
    assert weights == {
        "engagement": 0.75,
        "sentiment": 0.25,
        "influence": 0.0,
        "reach": 0.0,
        "track_record": 0.0,
    }


@pytest.mark.parametrize(
    ("custom", "message"),
    [
        ({"followers": 1.0}, "unknown components"),
        ({"engagement": -0.1, "reach": 1.0}, ">= 0"),
        ({"engagement": math.nan}, ">= 0"),
        ({"engagement": math.inf}, ">= 0"),
        ({"engagement": 0.0}, "at least one"),
        ({}, "at least one"),
    ],
)
def test_bad_custom_weights_are_rejected(custom: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_weights(None, custom)


def test_unknown_objective_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown objective"):
        resolve_weights("virality")


def test_rank_order_puts_eligible_first_then_score_then_index() -> None:
    scores = np.array([0.9, 0.5, 0.7, 0.5, 0.95])
    eligible = np.array([True, True, True, True, False])
    assert list(rank_order(scores, eligible)) == [0, 2, 1, 3, 4]


def test_partial_ranking_equals_the_head_of_the_full_one() -> None:
    rng = np.random.default_rng(0)
    scores = np.round(rng.random(5000), 2)  # many ties
    eligible = rng.random(5000) < 0.8
    full = rank_order(scores, eligible)
    for top in (0, 1, 17, 100, 5000, 6000):
        np.testing.assert_array_equal(rank_order(scores, eligible, top=top), full[:top])
