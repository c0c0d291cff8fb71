"""Attitude: how much a customer likes the brand, as a posterior, and what it is worth.

Every customer has a latent attitude ``a`` (0 is indifferent, about 1 a typical fan, about
-1 a typical critic). What they tell us are noisy measurements of it, each with its own
spread (:data:`SIGNALS`):

- a mention's sentiment ``s`` in ``[-1, 1]``: ``atanh(s)`` (clipped at +-0.95), spread 0.55;
- their latest NPS answer: ``(nps - 7) / 2``, spread 0.7 (7 is a neutral passive, 9 a fan);
- their latest review rating 1..5: ``(rating - 3) / 1.2``, spread 0.75; a support rating
  likewise, spread 1.5 (it is about one contact, not the brand).

Repeated answers to the same survey are not independent evidence, so only the latest NPS,
review and support rating count; every mention counts. Older evidence counts less
(precision halves every :data:`HALF_LIFE_DAYS`).

The prior is empirical Bayes by audience size: customers are split into :data:`STRATA`
groups by how many people listen to them, and each group's prior is the mean and the
spread of what its customers say (precision-weighted method of moments, the measurement
noise taken out). Where people with big audiences are lukewarm, a big audience with a few
mildly positive words is read as lukewarm; where they are fans, as a fan. Groups with fewer
than :data:`MIN_GROUP` customers who said anything use the whole workspace's prior, and a
workspace with fewer than that uses ``N(0, 1)``. Gaussian measurements give a Gaussian
posterior ``N(mean, sd^2)``.

What the attitude is worth: a message persuades in proportion to ``max(0, tanh a)`` and
puts people off in proportion to ``max(0, -tanh a)``, a bad word weighing :data:`HARM`
times a good one (the negativity bias). The attitude multiplier is the posterior
expectation ``E[max(0, tanh a)] - HARM * E[max(0, -tanh a)]``, floored at 0: a customer
whose posterior leans negative (``mean < 0``) is worth exactly nothing, and so is one whose
evidence is too weak or mixed to outweigh the risk. Someone about whom nothing leans
negative (``mean >= 0``, e.g. a workspace with no sentiment signals at all) keeps at least
:data:`UNKNOWN_ATTITUDE`: a small chance, not none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from advocacy.graph.inputs import NPS, REVIEW, SUPPORT_CONTACT, RankingInput
from advocacy.graph.timeutil import decay

HALF_LIFE_DAYS = 365.0
HARM = 2.5  # a bad word puts off 2.5 times as many as a good word persuades
UNKNOWN_ATTITUDE = 0.04  # floor for a customer whose posterior does not lean negative
STRATA = 10
MIN_GROUP = 40
MIN_PRIOR_VARIANCE = 0.05  # a group's prior spread never collapses below sd 0.22
MENTION_CLIP = 0.95
# kind -> (lowest, highest valid value, centre, scale, spread): x = (value - centre) / scale
SIGNALS: dict[int, tuple[float, float, float, float, float]] = {
    NPS: (0.0, 10.0, 7.0, 2.0, 0.7),
    REVIEW: (1.0, 5.0, 3.0, 1.2, 0.75),
    SUPPORT_CONTACT: (1.0, 5.0, 3.0, 1.2, 1.5),
}
MENTION_SPREAD = 0.55
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(16)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


@dataclass
class AttitudeFacts:
    mean: np.ndarray  # float64, posterior mean of the latent attitude
    sd: np.ndarray  # float64, posterior standard deviation
    precision: np.ndarray  # float64, decayed evidence (sum of 1 / spread^2), 0 = silent
    prior_mean: np.ndarray  # float64, the customer's group prior
    multiplier: np.ndarray  # float64 in [0, 1): E[persuasion] - HARM * E[harm], floored

    @classmethod
    def unknown(cls, n: int) -> AttitudeFacts:
        """Placeholder for components rebuilt from stored rows (not kept in snapshots)."""
        zeros = np.zeros(n)
        return cls(zeros, np.ones(n), zeros, zeros, np.full(n, UNKNOWN_ATTITUDE))


def compute_attitude(inp: RankingInput, audience: np.ndarray) -> AttitudeFacts:
    """The posterior attitude of every customer; ``audience`` (e.g. expected reach) groups."""
    precision, total = _evidence(inp)
    prior_mean, prior_var = _group_priors(precision, total, audience)
    posterior_precision = 1.0 / prior_var + precision
    mean = (prior_mean / prior_var + total) / posterior_precision
    sd = 1.0 / np.sqrt(posterior_precision)
    return AttitudeFacts(mean, sd, precision, prior_mean, attitude_value(mean, sd))


def attitude_value(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``max(0, E[tanh+ a] - HARM E[tanh- a])`` under ``N(mean, sd^2)``, floored (module doc).

    With ``HARM >= 1`` and a symmetric posterior the expectation is positive only when
    ``mean > 0``: a customer leaning negative is never worth anything.
    """
    mean = np.asarray(mean, dtype=np.float64)
    sd = np.asarray(sd, dtype=np.float64)
    net = np.zeros(mean.shape)
    for node, weight in zip(_NODES, _WEIGHTS, strict=True):
        t = np.tanh(mean + sd * node)
        net += weight * np.where(t > 0, t, HARM * t)
    net = np.maximum(net, 0.0)
    return np.where(mean >= 0, np.maximum(net, UNKNOWN_ATTITUDE), net)


def _evidence(inp: RankingInput) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: decayed precision ``sum w`` and ``sum w x`` over their measurements."""
    z = np.arctanh(np.clip(inp.m_sentiment, -MENTION_CLIP, MENTION_CLIP))
    customers = [inp.m_customer]
    values = [z]
    times = [inp.m_time]
    spreads = [np.full(z.size, MENTION_SPREAD)]
    for kind, (low, high, centre, scale, spread) in SIGNALS.items():
        customer, value, time = _latest_per_customer(inp, kind, low, high)
        customers.append(customer)
        values.append((value - centre) / scale)
        times.append(time)
        spreads.append(np.full(customer.size, spread))
    customer = np.concatenate(customers)
    weight = decay(np.concatenate(times), inp.now, HALF_LIFE_DAYS) / np.concatenate(spreads) ** 2
    precision = np.bincount(customer, weights=weight, minlength=inp.n)
    total = np.bincount(customer, weights=weight * np.concatenate(values), minlength=inp.n)
    return precision, total


def _latest_per_customer(
    inp: RankingInput, kind: int, low: float, high: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # NaN compares False, so events without a value drop out.
    mask = (inp.ev_kind == kind) & (inp.ev_value >= low) & (inp.ev_value <= high)
    customer, value, time = inp.ev_customer[mask], inp.ev_value[mask], inp.ev_time[mask]
    if customer.size == 0:
        return customer, value, time
    order = np.lexsort((value, time, customer))
    customer, value, time = customer[order], value[order], time[order]
    last = np.append(customer[1:] != customer[:-1], True)
    return customer[last], value[last], time[last]


def _group_priors(
    precision: np.ndarray, total: np.ndarray, audience: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's prior (mean, variance): their audience group's, else the workspace's."""
    n = precision.size
    said = precision > 0
    observed = np.divide(total, precision, out=np.zeros(n), where=said)
    overall = _moments(observed[said], precision[said]) if said.sum() >= MIN_GROUP else (0.0, 1.0)
    prior_mean = np.full(n, overall[0])
    prior_var = np.full(n, overall[1])
    if n == 0 or said.sum() < MIN_GROUP:
        return prior_mean, prior_var
    key = np.log1p(np.maximum(np.asarray(audience, dtype=np.float64), 0.0))
    edges = np.quantile(key, np.linspace(0.0, 1.0, STRATA + 1)[1:-1])
    group = np.searchsorted(edges, key, side="right")
    for g in np.unique(group):
        members = group == g
        voiced = members & said
        if voiced.sum() >= MIN_GROUP:
            mean, var = _moments(observed[voiced], precision[voiced])
            prior_mean[members] = mean
            prior_var[members] = var
    return prior_mean, prior_var


def _moments(observed: np.ndarray, precision: np.ndarray) -> tuple[float, float]:
    """Mean and spread of the latent attitude from noisy means (noise variance 1/precision).

    Weights ``P / (1 + P)`` keep one weak signal from counting as much as a clear record;
    the spread is the weighted variance of the observed means less their average noise.
    """
    weight = precision / (1.0 + precision)
    total = float(weight.sum())
    mean = float((weight * observed).sum() / total)
    spread = float((weight * (observed - mean) ** 2).sum() / total)
    noise = float((weight / precision).sum() / total)
    return mean, max(spread - noise, MIN_PRIOR_VARIANCE)
