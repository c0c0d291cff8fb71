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
from typing import Any

import numpy as np

from advocacy.graph.inputs import SUPPORT_CONTACT, RankingInput
from advocacy.graph.sentiment import SentimentFacts
from advocacy.graph.timeutil import decay

HALF_LIFE_DAYS = 365.0
HARM = 2.5  # a bad word puts off 2.5 times as many as a good word persuades
UNKNOWN_ATTITUDE = 0.04  # floor for a customer whose posterior does not lean negative
STRATA = 10
MIN_GROUP = 40
OUTSIDER = 0.1  # prior share of a customer unlike their audience group (the workspace's prior)
MIN_PRIOR_VARIANCE = 0.02  # a group's prior spread never collapses below sd 0.14
MENTION_CLIP = 0.95
# signal -> (centre, scale, spread): the measurement is (value - centre) / scale
NPS_SIGNAL = (7.0, 2.0, 0.7)
REVIEW_SIGNAL = (3.0, 1.2, 0.75)
SUPPORT_SIGNAL = (3.0, 1.2, 1.5)
MENTION_SPREAD = 0.55


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


def compute_attitude(
    inp: RankingInput, sentiment: SentimentFacts, audience: np.ndarray
) -> AttitudeFacts:
    """The posterior attitude of every customer; ``audience`` (e.g. expected reach) groups.

    The prior is a mixture: the customer's audience group's (weight ``1 - OUTSIDER``) and
    the workspace's (``OUTSIDER``), so a clear fan in a lukewarm group is still recognised
    when their own record is strong. Each part gives a Gaussian posterior, weighted by how
    likely the customer's own average is under that part.
    """
    n = inp.n
    precision, total = measurements(inp, sentiment)
    said = precision > 0
    observed = np.divide(total, precision, out=np.zeros(n), where=said)
    noise = np.divide(1.0, precision, out=np.zeros(n), where=said)
    group_mean, group_var, overall_mean, overall_var = _group_priors(precision, observed, audience)
    parts = []
    for share, prior_mean, prior_var in (
        (1.0 - OUTSIDER, group_mean, group_var),
        (OUTSIDER, overall_mean, overall_var),
    ):
        posterior_precision = 1.0 / prior_var + precision
        mean = (prior_mean / prior_var + total) / posterior_precision
        spread = prior_var + noise
        # How likely the customer's own average is under this prior (1 when silent).
        density = np.exp(-0.5 * (observed - prior_mean) ** 2 / spread) / np.sqrt(spread)
        likelihood = np.where(said, density, 1.0)
        parts.append((share * likelihood, mean, posterior_precision**-0.5))
    norm = parts[0][0] + parts[1][0]
    mean = (parts[0][0] * parts[0][1] + parts[1][0] * parts[1][1]) / norm
    second = sum(r * (m**2 + sd**2) for r, m, sd in parts) / norm
    net = sum(r * net_persuasion(m, sd) for r, m, sd in parts) / norm
    multiplier = np.where(mean >= 0, np.maximum(net, UNKNOWN_ATTITUDE), 0.0)
    sd = np.sqrt(np.maximum(second - mean**2, 0.0))
    return AttitudeFacts(mean, sd, precision, np.broadcast_to(group_mean, n).copy(), multiplier)


def attitude_value(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """The multiplier of a Gaussian posterior ``N(mean, sd^2)`` (module doc).

    With ``HARM >= 1`` and a symmetric posterior the expectation is positive only when
    ``mean > 0``; a customer leaning negative (``mean < 0``) is worth 0 regardless.
    """
    mean = np.asarray(mean, dtype=np.float64)
    net = net_persuasion(mean, np.asarray(sd, dtype=np.float64))
    return np.where(mean >= 0, np.maximum(net, UNKNOWN_ATTITUDE), 0.0)


def _tabulate(means: np.ndarray, sds: np.ndarray, nodes: int = 48) -> np.ndarray:
    """``max(0, E[tanh+ a] - HARM E[tanh- a])`` for ``a ~ N(mean, sd^2)`` on a grid."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    t = np.tanh(means[:, None, None] + sds[None, :, None] * x[None, None, :])
    net = (np.where(t > 0, t, HARM * t) * (w / w.sum())).sum(axis=2)
    return np.maximum(net, 0.0)


_MEANS = np.linspace(-4.0, 4.0, 321)
_SDS = np.linspace(0.0, 2.0, 81)
_TABLE = _tabulate(_MEANS, _SDS)


def net_persuasion(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """The expectation of :func:`_tabulate`, bilinear in the table (within 0.2% of it)."""
    i = np.clip((np.asarray(mean) - _MEANS[0]) / (_MEANS[1] - _MEANS[0]), 0, _MEANS.size - 1.001)
    j = np.clip((np.asarray(sd) - _SDS[0]) / (_SDS[1] - _SDS[0]), 0, _SDS.size - 1.001)
    i0, j0 = i.astype(np.intp), j.astype(np.intp)
    di, dj = i - i0, j - j0
    top = _TABLE[i0, j0] * (1 - dj) + _TABLE[i0, j0 + 1] * dj
    bottom = _TABLE[i0 + 1, j0] * (1 - dj) + _TABLE[i0 + 1, j0 + 1] * dj
    return np.asarray(top * (1 - di) + bottom * di, dtype=np.float64)


def measurements(inp: RankingInput, sentiment: SentimentFacts) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: decayed precision ``sum w`` and ``sum w x`` over their measurements."""
    n, now = inp.n, inp.now
    z = np.arctanh(np.clip(inp.m_sentiment, -MENTION_CLIP, MENTION_CLIP))
    weight = decay(inp.m_time, now, HALF_LIFE_DAYS) / MENTION_SPREAD**2
    precision = np.bincount(inp.m_customer, weights=weight, minlength=n).astype(np.float64)
    total = np.bincount(inp.m_customer, weights=weight * z, minlength=n).astype(np.float64)
    latest = (
        (sentiment.latest_nps, sentiment.latest_nps_time, NPS_SIGNAL),
        (sentiment.latest_review, sentiment.latest_review_time, REVIEW_SIGNAL),
    )
    for value, time, (centre, scale, spread) in latest:
        answered = value >= 0
        w = np.zeros(n)
        w[answered] = decay(time[answered], now, HALF_LIFE_DAYS) / spread**2
        precision += w
        total += w * (value - centre) / scale
    # Support ratings are about one contact each: every one counts, with a wide spread.
    rated = (inp.ev_kind == SUPPORT_CONTACT) & (inp.ev_value >= 1) & (inp.ev_value <= 5)
    centre, scale, spread = SUPPORT_SIGNAL
    w = decay(inp.ev_time[rated], now, HALF_LIFE_DAYS) / spread**2
    precision += np.bincount(inp.ev_customer[rated], weights=w, minlength=n)
    x = (inp.ev_value[rated] - centre) / scale
    total += np.bincount(inp.ev_customer[rated], weights=w * x, minlength=n)
    return precision, total


def _group_priors(
    precision: np.ndarray, observed: np.ndarray, audience: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Each customer's group prior (mean, variance), else the workspace's; and the latter.

    Moments of the latent attitude from noisy means (noise variance ``1 / P``): weights
    ``P / (1 + P)`` keep one weak signal from counting as much as a clear record; the
    spread is the weighted variance of the observed means less their average noise.
    """
    n = precision.size
    said = precision > 0
    if said.sum() < MIN_GROUP:
        return np.zeros(n), np.ones(n), 0.0, 1.0
    key = np.log1p(np.maximum(np.asarray(audience, dtype=np.float64), 0.0))
    edges = np.quantile(key, np.linspace(0.0, 1.0, STRATA + 1)[1:-1])
    group = np.searchsorted(edges, key, side="right")
    weight = np.where(said, precision / (1.0 + precision), 0.0)
    sums = [
        np.bincount(group, weights=values, minlength=STRATA)
        for values in (
            weight,
            weight * observed,
            weight * observed**2,
            np.where(said, weight / np.maximum(precision, 1e-300), 0.0),
        )
    ]
    voiced = np.bincount(group[said], minlength=STRATA)
    totals = [float(s.sum()) for s in sums]
    overall_mean, overall_var = _moments(*totals)
    mean, var = _moments(*(np.maximum(s, 1e-300) for s in sums))
    enough = voiced >= MIN_GROUP
    mean = np.where(enough, mean, overall_mean)
    var = np.where(enough, var, overall_var)
    return mean[group], var[group], overall_mean, overall_var


def _moments(weight: Any, first: Any, second: Any, noise: Any) -> tuple[Any, Any]:
    mean = first / weight
    spread = second / weight - mean**2 - noise / weight
    return mean, np.maximum(spread, MIN_PRIOR_VARIANCE)
