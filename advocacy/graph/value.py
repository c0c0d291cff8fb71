"""The expected-value model: how many people would act if we asked this customer?

One model behind the ranked list and every selection strategy. For advocate ``u`` and a
listener ``v`` (someone whose tie to ``u`` carries trust, see ``network``)::

    P(v acts on u's message) = q(u) * p(u, v) * w(v)
    value(u)                 = sum_v q(u) * p(u, v) * w(v)       (expected people)

- ``q(u)``, the chance that ``u`` shares when asked *and* speaks well of the brand, is a
  product of multipliers (:data:`FEATURES`), each raised to an exponent::

      q(u) = base * attitude^b1 * engagement^b2 * trust^b3 * track_record^b4
             * (audience / typical audience)^(b0 - 1)

  ``attitude`` is the posterior expected persuasion of the customer's latent attitude
  (:mod:`advocacy.graph.attitude`): near 1 for a clear fan, 0 for anyone whose evidence
  leans negative or is too weak or mixed to outweigh the risk of a bad word, and a small
  floor (0.04) for someone about whom nothing leans negative (no signals at all).
  ``engagement`` is ``0.2 + 0.8 * engagement component``; ``trust`` is
  ``(T / (T + D))^2`` with ``T`` and ``D`` the trust and distrust tie strength toward ``u``
  (the share of the attention ``u`` gets that trusts them, squared: fewer people take their
  word and those who do discount it);
  ``track_record`` the smoothed lift of past invitations (1 for newcomers).
- ``p(u, v)``: the reach probability of the tie (``network``).
- ``w(v)``: what the objective counts. Awareness counts every non-detractor reached
  (``w = 1``); conversion counts people who act, ``w = 0.2 * 2 * sentiment component``
  (0.2 for a neutral listener, more for a fan, 0 for a detractor); consideration halfway.

A gated detractor's value is negative: minus the people their message would reach and put
off (``base * engagement * sum_v p(u, v)``), so they rank below everybody and are never
selected. Objective weights (:data:`~advocacy.graph.scoring.OBJECTIVE_WEIGHTS`) order the
reasons; custom weights tilt the value (see :func:`custom_tilt`).

The base and the exponents are the documented priors (:data:`PRIOR`) until the workspace
has history enough to fit them (``learning``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from advocacy.graph.components import Components

FEATURES: tuple[str, ...] = ("audience", "attitude", "engagement", "trust", "track_record")
LISTENER_OBJECTIVES: tuple[str, ...] = ("awareness", "consideration", "conversion")

BASE_SHARE = 0.5  # a clear, engaged fan shares (and speaks well) half the time when asked
BASE_ACT = 0.2  # a neutral listener acts on a friend's recommendation one time in five
ENGAGEMENT_FLOOR = 0.2  # engagement multiplier of someone with no CRM activity


@dataclass(frozen=True)
class ValueModel:
    """``log q = intercept + sum_f exponent_f * log multiplier_f`` (audience exponent - 1)."""

    intercept: float = math.log(BASE_SHARE)
    exponents: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FEATURES, 1.0))
    source: str = "prior"

    def to_dict(self) -> dict[str, Any]:
        return {
            "intercept": self.intercept,
            "exponents": dict(self.exponents),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, stored: dict[str, Any] | None) -> ValueModel:
        if not stored:
            return PRIOR
        exponents = {name: float(stored["exponents"].get(name, 1.0)) for name in FEATURES}
        return cls(float(stored["intercept"]), exponents, str(stored.get("source", "prior")))


PRIOR = ValueModel()


def multipliers(components: Components) -> dict[str, np.ndarray]:
    """Every feature but ``audience`` as a per-customer multiplier (>= 0)."""
    graph = components.graph
    trust_in = np.asarray(graph.trust.sum(axis=1)).ravel()
    distrust_in = np.asarray(graph.distrust.sum(axis=1)).ravel()
    total = trust_in + distrust_in
    # Squared: distrust costs an advocate twice, fewer people take their word and those who
    # do discount it (on Bitcoin Alpha this keeps contested accounts out of the top 50).
    # Weighting distrust twice inside the square as well counted that negativity a third
    # time: a contested account fell below one with fewer net supporters.
    trust = np.divide(trust_in, total, out=np.ones(components.n), where=total > 0) ** 2
    track = np.clip(components.track_record, 0.05, 0.95)
    return {
        "attitude": components.attitude_facts.multiplier,
        "engagement": ENGAGEMENT_FLOOR + (1.0 - ENGAGEMENT_FLOOR) * components.engagement,
        "trust": trust,
        "track_record": track / (1.0 - track),
    }


def listener_weights(components: Components, objective: str) -> np.ndarray:
    """``w(v)`` of the objective: what one listener reached is worth (see module doc)."""
    if objective not in LISTENER_OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}")
    return listener_weights_from(components.sentiment, components.detractor, objective)


def listener_weights_from(
    sentiment: np.ndarray, detractor: np.ndarray, objective: str
) -> np.ndarray:
    """The same from stored columns (sentiment component, detractor flag)."""
    reached = np.where(detractor, 0.0, 1.0)
    acts = reached * np.minimum(BASE_ACT * 2.0 * np.asarray(sentiment, dtype=np.float64), 1.0)
    if objective == "awareness":
        return reached
    if objective == "conversion":
        return acts
    return (reached + acts) / 2.0


def audience(reach_prob: sp.csr_array, weights: np.ndarray) -> np.ndarray:
    """``sum_v p(u, v) * w(v)`` per advocate ``u``: people who act if ``u`` shares for sure."""
    return np.asarray(reach_prob @ weights, dtype=np.float64)


def typical_audience(values: np.ndarray) -> float:
    positive = values[values > 0]
    return float(np.median(positive)) if positive.size else 1.0


def share_probability(
    model: ValueModel, factors: dict[str, np.ndarray], conversion_audience: np.ndarray
) -> np.ndarray:
    """``q(u)`` in ``[0, 1]`` from the multipliers and the model's exponents."""
    log_q = np.full(conversion_audience.size, model.intercept)
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, values in factors.items():
            log_q += model.exponents[name] * np.log(values)
        scale = typical_audience(conversion_audience)
        relative = np.log(np.maximum(conversion_audience, 1e-12) / scale)
    log_q += (model.exponents["audience"] - 1.0) * relative
    # A zero multiplier (no attitude worth a word, total distrust) means no chance at all,
    # whatever the exponents; no audience means no value either way.
    silent = np.zeros(log_q.size, dtype=bool)
    for values in factors.values():
        silent |= values <= 0
    return np.where(silent, 0.0, np.clip(np.exp(np.nan_to_num(log_q, nan=-np.inf)), 0.0, 1.0))


@dataclass
class ExpectedValues:
    share: np.ndarray  # q(u): P(shares when asked, with a positive word)
    value: dict[str, np.ndarray]  # objective -> expected people (negative for detractors)
    factors: dict[str, np.ndarray]  # the multipliers, for reasons and the fit
    conversion_audience: np.ndarray  # sum_v p(u, v) w_conversion(v)


def expected_values(components: Components, model: ValueModel = PRIOR) -> ExpectedValues:
    """Every customer's ``q`` and expected people per objective."""
    factors = multipliers(components)
    prob = components.graph.reach_prob
    conversion_audience = audience(prob, listener_weights(components, "conversion"))
    share = share_probability(model, factors, conversion_audience)
    detractor = components.detractor
    share = np.where(detractor, 0.0, share)
    reached = audience(prob, listener_weights(components, "awareness"))
    put_off = -(math.exp(model.intercept) * factors["engagement"]) * (reached + 0.01)
    value = {}
    for objective in LISTENER_OBJECTIVES:
        if objective == "conversion":
            people = conversion_audience
        elif objective == "awareness":
            people = reached
        else:
            people = audience(prob, listener_weights(components, objective))
        value[objective] = np.where(detractor, put_off, share * people)
    return ExpectedValues(share, value, factors, conversion_audience)


def custom_tilt(components_by_name: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Custom component weights (normalised) tilt the value: ``sum_c w_c * c / 0.5``.

    Every component is 0.5 for a typical customer, so a typical customer keeps their value,
    one strong on the chosen components gains up to twice it, one weak on them loses it.
    The tilt is never negative, so a detractor's negative value stays negative.
    """
    total: np.ndarray | float = 0.0
    for name, weight in weights.items():
        if weight:
            total = total + weight * np.asarray(components_by_name[name], dtype=np.float64)
    return np.asarray(total, dtype=np.float64) / 0.5


def edge_probabilities(
    reach_prob: sp.csr_array, share: np.ndarray, weights: np.ndarray
) -> sp.csr_array:
    """``P[u, v] = min(1, q(u) * p(u, v) * w(v))``: the activation probabilities."""
    rows = np.repeat(np.arange(reach_prob.shape[0]), np.diff(reach_prob.indptr))
    data = np.minimum(share[rows] * reach_prob.data * weights[reach_prob.indices], 1.0)
    return sp.csr_array((data, reach_prob.indices, reach_prob.indptr), shape=reach_prob.shape)
