"""One workspace from inputs to ranked expected values, the value model learned on the way.

:func:`rank_customers` is the pure core of the ranking job: components, the value model
(fitted to the workspace's invitation history when there is enough of it, see
``learning``), every customer's expected value per objective and the ranks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from advocacy.graph.components import Components, compute_components
from advocacy.graph.inputs import RankingInput, RankingParams
from advocacy.graph.learning import History, as_of, enough_history, learn_model
from advocacy.graph.scoring import rank_order
from advocacy.graph.value import (
    LISTENER_OBJECTIVES,
    PRIOR,
    ExpectedValues,
    ValueModel,
    audience,
    expected_values,
    listener_weights,
    multipliers,
)


@dataclass
class Ranking:
    components: Components
    values: ExpectedValues
    model: ValueModel
    report: dict[str, Any]
    ranks: dict[str, np.ndarray] = field(default_factory=dict)  # objective -> 1-based rank


def rank_customers(
    inp: RankingInput, params: RankingParams | None = None, history: History | None = None
) -> Ranking:
    components = compute_components(inp, params)
    model, report = fit_value_model(inp, components.params, history)
    values = expected_values(components, model)
    ranks = {}
    for objective in LISTENER_OBJECTIVES:
        order = rank_order(values.value[objective], components.eligible)
        rank = np.empty(components.n, dtype=np.int64)
        rank[order] = np.arange(1, components.n + 1)
        ranks[objective] = rank
    return Ranking(components, values, model, report, ranks)


def fit_value_model(
    inp: RankingInput, params: RankingParams, history: History | None
) -> tuple[ValueModel, dict[str, Any]]:
    """The prior, or the model fitted on features as of the history's first invitation."""
    history = history or History(np.empty(0, np.int64), np.empty(0), np.empty(0, np.int64))
    if not enough_history(history):
        return learn_model({}, np.empty(0), history)
    past = compute_components(as_of(inp, float(history.time.min())), params)
    conversion_audience = audience(past.graph.reach_prob, listener_weights(past, "conversion"))
    model, report = learn_model(multipliers(past), conversion_audience, history)
    report["features_as_of"] = float(history.time.min())
    return model, report


__all__ = ["PRIOR", "Ranking", "fit_value_model", "rank_customers"]
