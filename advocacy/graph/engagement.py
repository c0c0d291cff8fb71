"""Engagement: time-decayed CRM activity per customer.

Raw engagement is ``sum over events of weight(kind) * 2 ** (-age / half_life)``, where a
purchase also earns ``spend_weight * log1p(amount / median purchase amount)``: spend counts,
but logarithmically, so one very large order does not outweigh a habit of buying.
Support satisfaction, review ratings and NPS *values* feed sentiment, not engagement; here
they only count as activity.

A few events say little about how active someone really is, and ranking on the product of
noisy multipliers rewards lucky noise (the winner's curse), so the component is not the raw
value but its empirical-Bayes estimate (:func:`shrink_activity`): each customer's raw value
pulled toward the workspace mean by how noisy their record is, then normalised with
:func:`~advocacy.graph.normalise.saturate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from advocacy.graph.inputs import (
    DAY,
    EMAIL_CLICK,
    EVENT_KIND_CODES,
    LOGIN,
    PURCHASE,
    RankingInput,
    RankingParams,
)
from advocacy.graph.timeutil import decay

_N_KINDS = len(EVENT_KIND_CODES)
MIN_ACTIVE = 40  # active customers needed to estimate how much activity levels differ


@dataclass
class EngagementFacts:
    raw: np.ndarray  # float64, decayed weighted activity
    estimate: np.ndarray  # float64, raw shrunk toward the workspace mean (shrink_activity)
    purchases_recent: np.ndarray  # int32, purchases in the facts window
    spend_recent: np.ndarray  # float64, minor units spent in the facts window
    logins_recent: np.ndarray  # int32
    email_clicks_recent: np.ndarray  # int32
    last_activity_time: np.ndarray  # float64 epoch seconds, NaN when never active


def compute_engagement(inp: RankingInput, params: RankingParams) -> EngagementFacts:
    n = inp.n
    kind = inp.ev_kind.astype(np.intp)
    kind_weight = np.zeros(_N_KINDS)
    for name, code in EVENT_KIND_CODES.items():
        kind_weight[code] = params.engagement_event_weights.get(name, 0.0)
    # Unknown kind codes (future CRM kinds) weigh nothing rather than failing the run.
    known = (kind >= 0) & (kind < _N_KINDS)
    weight = np.where(known, kind_weight[np.clip(kind, 0, _N_KINDS - 1)], 0.0)
    weight += params.spend_weight * _spend_bonus(inp.ev_amount, kind == PURCHASE)
    weight *= decay(inp.ev_time, inp.now, params.engagement_half_life_days)
    raw = np.bincount(inp.ev_customer, weights=weight, minlength=n)
    total = float(weight.sum())
    event_size = float(np.dot(weight, weight)) / total if total > 0 else 0.0

    recent = (inp.now - inp.ev_time) <= params.facts_window_days * DAY
    recent_customer = inp.ev_customer[recent]
    # One pass for every kind's recent count: key = customer * kinds + kind.
    per_kind = np.bincount(
        recent_customer.astype(np.int64) * _N_KINDS + np.clip(kind[recent], 0, _N_KINDS - 1),
        minlength=n * _N_KINDS,
    ).reshape(n, _N_KINDS)
    recent_purchase = recent & (kind == PURCHASE) & np.isfinite(inp.ev_amount)
    spend_recent = np.bincount(
        inp.ev_customer[recent_purchase], weights=inp.ev_amount[recent_purchase], minlength=n
    )
    last = np.full(n, -np.inf)
    np.maximum.at(last, inp.ev_customer, inp.ev_time)
    last[np.isneginf(last)] = np.nan
    return EngagementFacts(
        raw=raw,
        estimate=shrink_activity(raw, event_size),
        purchases_recent=per_kind[:, PURCHASE].astype(np.int32),
        spend_recent=spend_recent,
        logins_recent=per_kind[:, LOGIN].astype(np.int32),
        email_clicks_recent=per_kind[:, EMAIL_CLICK].astype(np.int32),
        last_activity_time=last,
    )


def shrink_activity(raw: np.ndarray, event_size: float) -> np.ndarray:
    """Each customer's activity level, estimated: ``mean + B * (raw - mean)``.

    ``raw`` is a sum of decayed event weights, a compound-Poisson count: its sampling
    variance is ``rate * E[w^2]``, estimated as ``raw * event_size`` with ``event_size =
    sum w^2 / sum w`` over all the workspace's events (pooled: a customer's own few events
    would estimate it badly). The level itself varies between customers by ``spread =
    var(raw) - mean(noise)`` (method of moments), so each keeps the share ``B = spread /
    (spread + noise)`` of their distance from the mean (James-Stein): a long record keeps
    most of it, a single purchase is pulled much of the way to the workspace mean. Someone
    with no events at all stays at 0: nothing is invented for them. Below
    :data:`MIN_ACTIVE` active customers the spread cannot be told from noise, and the raw
    values are kept.
    """
    if np.count_nonzero(raw) < MIN_ACTIVE:
        return raw.copy()
    noise = raw * event_size
    mean = float(raw.mean())
    spread = max(float(raw.var()) - float(noise.mean()), 1e-12)
    return mean + spread / (spread + noise) * (raw - mean)


def _spend_bonus(amount: np.ndarray, is_purchase: np.ndarray) -> np.ndarray:
    """``log1p(amount / median)`` for purchases with a positive amount, else 0.

    Dividing by the workspace's median order makes the bonus currency- and price-level-free:
    a typical order earns log(2) ~ 0.69, ten typical orders' worth earns 2.4.
    """
    priced = is_purchase & np.isfinite(amount) & (amount > 0)
    bonus = np.zeros(amount.size)
    if not priced.any():
        return bonus
    median = float(np.median(amount[priced]))
    bonus[priced] = np.log1p(amount[priced] / median)
    return bonus
