"""The attitude posterior: leaning negative is worth nothing; lukewarm big audiences read so."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pytest
from scipy.integrate import quad

from advocacy.graph.attitude import (
    HARM,
    UNKNOWN_ATTITUDE,
    AttitudeFacts,
    attitude_value,
    compute_attitude,
    net_persuasion,
)
from advocacy.graph.components import compute_components
from advocacy.graph.inputs import RankingParams
from advocacy.graph.selection import STRATEGIES, select_advocates
from advocacy.graph.sentiment import compute_sentiment
from advocacy.graph.value import edge_probabilities, expected_values, listener_weights

if TYPE_CHECKING:
    from conftest import Workspace


def test_a_posterior_leaning_negative_is_worth_nothing_whatever_its_spread() -> None:
    mean = np.array([-1e-6, -0.05, -0.3, -0.05, 0.0, 0.02, 1.5])
    sd = np.array([0.1, 0.05, 2.0, 3.0, 1.0, 1.0, 0.1])
    value = attitude_value(mean, sd)
    assert np.all(value[:4] == 0.0)
    assert value[4] == UNKNOWN_ATTITUDE  # nothing leans either way: a small chance
    assert value[5] == UNKNOWN_ATTITUDE  # weak and mixed: the risk outweighs the hope
    assert value[6] == pytest.approx(np.tanh(1.5), rel=0.02)  # a clear fan


def test_more_consistent_praise_is_worth_more() -> None:
    mean = np.array([0.8, 0.8, 0.8])
    sd = np.array([1.0, 0.5, 0.1])
    value = attitude_value(mean, sd)
    assert value[0] < value[1] < value[2]


def fans_and_a_lukewarm_crowd(workspace: type[Workspace]) -> AttitudeFacts:
    """60 customers with small audiences who are clear fans; 60 with big audiences who say
    lukewarm things. Customers 0 (small audience) and 60 (big audience) add the same
    mildly positive word; customer 62 (big audience) adds twelve glowing ones."""
    ws = workspace(120)
    for c in range(60):
        ws.mention(c, 0.8, days_ago=5).mention(c, 0.7, days_ago=40)
    for c in range(60, 120):
        tone = -0.3 if c % 2 else 0.2
        ws.mention(c, tone, days_ago=5).mention(c, tone, days_ago=40)
    for c in (0, 60):
        ws.mention(c, 0.5, days_ago=3)
    for day in range(12):
        ws.mention(62, 0.9, days_ago=day)
    audience = np.where(np.arange(120) < 60, 1.0, 30.0)
    inp = ws.build()
    return compute_attitude(inp, compute_sentiment(inp, RankingParams()), audience)


def test_mildly_positive_words_from_a_big_lukewarm_audience_group_count_for_little(
    workspace: type[Workspace],
) -> None:
    facts = fans_and_a_lukewarm_crowd(workspace)
    assert facts.prior_mean[60] < 0.1 < 0.5 < facts.prior_mean[0]
    assert facts.multiplier[60] < facts.multiplier[0] / 3


def test_a_clear_fan_in_a_lukewarm_group_is_still_recognised(
    workspace: type[Workspace],
) -> None:
    facts = fans_and_a_lukewarm_crowd(workspace)
    assert facts.mean[62] > 1.0
    assert facts.multiplier[62] > 0.6


@pytest.mark.parametrize(("mean", "sd"), [(0.3, 0.5), (1.0, 0.2), (-0.2, 1.5), (2.5, 0.05)])
def test_the_tabulated_expectation_matches_quadrature(mean: float, sd: float) -> None:
    def integrand(a: float) -> float:
        t = math.tanh(a)
        density = math.exp(-0.5 * ((a - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
        return (t if t > 0 else HARM * t) * density

    exact = max(quad(integrand, mean - 12 * sd, mean + 12 * sd, points=[0.0])[0], 0.0)
    assert net_persuasion(np.array([mean]), np.array([sd]))[0] == pytest.approx(exact, abs=2e-3)


def test_no_customer_leaning_negative_is_ever_selected(workspace: type[Workspace]) -> None:
    # Customer 0: slightly negative words (passing the detractor gate), 60 listeners;
    # customer 1: one mildly positive and one slightly negative mention, 60 listeners;
    # customer 2: a fan with 6 listeners.
    ws = workspace(80)
    ws.mention(0, -0.1, days_ago=3).mention(0, 0.05, days_ago=10)
    ws.mention(1, 0.3, days_ago=3).mention(1, -0.35, days_ago=8)
    ws.event(2, "nps", 2, value=10).mention(2, 0.8, days_ago=4)
    for listener in range(3, 63):
        ws.connect(listener, 0, replies=4, days_ago=2).connect(listener, 1, replies=4, days_ago=2)
    for listener in range(63, 69):
        ws.connect(listener, 2, replies=4, days_ago=2)
    components = compute_components(ws.build())
    assert components.eligible[:3].all()
    assert components.attitude_facts.mean[0] < 0 and components.attitude_facts.mean[1] < 0
    values = expected_values(components)
    prob = edge_probabilities(
        components.graph.reach_prob, values.share, listener_weights(components, "conversion")
    )
    for strategy in STRATEGIES:
        chosen = select_advocates(
            prob, values.value["conversion"], components.eligible, 3, strategy
        ).indices
        assert chosen == [2], strategy
