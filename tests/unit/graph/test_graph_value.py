"""The expected-value model on small cases computed by hand."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pytest
from scipy.integrate import quad

from advocacy.graph.components import compute_components
from advocacy.graph.value import (
    PRIOR,
    ValueModel,
    custom_tilt,
    expected_values,
    multipliers,
)

if TYPE_CHECKING:
    from conftest import Workspace


def expected_net_persuasion(mean: float, sd: float) -> float:
    """``E[tanh+ a] - 2.5 E[tanh- a]`` for ``a ~ N(mean, sd^2)``, by adaptive quadrature."""

    def integrand(a: float) -> float:
        t = math.tanh(a)
        density = math.exp(-0.5 * ((a - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
        return (t if t > 0 else 2.5 * t) * density

    return max(quad(integrand, mean - 12 * sd, mean + 12 * sd, points=[0.0])[0], 0.0)


def test_one_fan_two_listeners_by_hand(workspace: type[Workspace]) -> None:
    ws = workspace(3)
    ws.event(0, "nps", 0, value=10)  # today: weight 3, sentiment +1
    ws.connect(1, 0, replies=3, days_ago=0)
    ws.connect(2, 0, replies=3, days_ago=0)
    components = compute_components(ws.build())
    values = expected_values(components)

    # Too few voices for a workspace prior: N(0, 1); NPS 10 measures (10 - 7) / 2 = 1.5
    # with spread 0.7, so the posterior is N(1.5 * P / (1 + P), 1 / (1 + P)), P = 1 / 0.49.
    precision = 1 / 0.7**2
    attitude = expected_net_persuasion(1.5 * precision / (1 + precision), (1 + precision) ** -0.5)
    engagement = 0.2 + 0.8 * 0.5  # the only active customer is the workspace's median
    q = 0.5 * attitude * engagement  # trust 1, track record lift 1
    p = 1 - math.exp(-3 / 3)
    # The model integrates with 16 Gauss-Hermite nodes: within 1% of adaptive quadrature.
    assert values.share[0] == pytest.approx(q, rel=1e-2)
    assert values.value["awareness"][0] == pytest.approx(q * 2 * p, rel=1e-2)
    assert values.value["conversion"][0] == pytest.approx(q * 2 * p * 0.2, rel=1e-2)
    assert values.value["consideration"][0] == pytest.approx(q * 2 * p * 0.6, rel=1e-2)
    assert values.value["conversion"][1] == 0.0  # nobody listens to them


def test_a_detractor_has_a_negative_value_and_a_slightly_negative_one_next_to_nothing(
    workspace: type[Workspace],
) -> None:
    ws = workspace(30)
    ws.event(0, "nps", 1, value=2)  # detractor
    ws.mention(1, -0.6, 10)  # slightly negative, passes the gate
    ws.event(2, "nps", 1, value=10)  # fan
    for advocate in range(3):
        for listener in range(3 + 9 * advocate, 12 + 9 * advocate):
            ws.connect(listener, advocate, replies=5, days_ago=2)
    components = compute_components(ws.build())
    value = expected_values(components).value

    assert not components.eligible[0] and components.eligible[1]
    for objective in ("awareness", "consideration", "conversion"):
        assert value[objective][0] < 0 <= value[objective][1] < value[objective][2] / 10


def test_fitted_exponents_change_share_not_the_sign(workspace: type[Workspace]) -> None:
    ws = workspace(12)
    ws.event(0, "nps", 1, value=10)
    ws.event(1, "nps", 1, value=1)
    for listener in range(2, 12):
        ws.connect(listener, 0, replies=2, days_ago=2)
        ws.connect(listener, 1, replies=2, days_ago=2)
    components = compute_components(ws.build())
    steep = ValueModel(
        PRIOR.intercept, {**PRIOR.exponents, "attitude": 3.0, "audience": 0.5}, "fitted"
    )
    prior, fitted = expected_values(components), expected_values(components, steep)
    assert fitted.share[0] < prior.share[0]  # attitude < 1, raised to the 3rd power
    assert fitted.value["conversion"][1] < 0 and prior.value["conversion"][1] < 0


def test_custom_tilt_keeps_typical_values_and_signs() -> None:
    components = {"sentiment": np.array([0.5, 1.0, 0.0]), "reach": np.array([0.5, 0.5, 0.5])}
    tilt = custom_tilt(components, {"sentiment": 0.5, "reach": 0.5})
    np.testing.assert_allclose(tilt, [1.0, 1.5, 0.5])
    assert np.all(np.array([-2.0, 1.0, 3.0]) * tilt * np.array([-1, 1, 1]) >= 0)


def test_trust_is_the_squared_share_of_trusting_ties(workspace: type[Workspace]) -> None:
    # 0 is trusted by three people and distrusted by one, every tie as strong; 1 only trusted.
    ws = workspace(8)
    for rater in (2, 3, 4):
        ws.connect(rater, 0, replies=2, sentiment=0.8, days_ago=1)
    ws.connect(5, 0, replies=2, sentiment=-0.8, days_ago=1)
    ws.connect(6, 1, replies=2, sentiment=0.8, days_ago=1)
    trust = multipliers(compute_components(ws.build()))["trust"]

    # Three of the four ties trust: 3/4 of them take the word, and discount it as much.
    assert trust[0] == pytest.approx((3 / 4) ** 2)
    assert trust[1] == 1.0
    assert trust[7] == 1.0  # nobody has an opinion: no penalty
