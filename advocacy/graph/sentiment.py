"""Sentiment: a time-decayed Bayesian average of what a customer says, and the detractor gate.

Signals, each mapped to ``[-1, 1]``:

- a mention's sentiment score, as given;
- an NPS answer, through :data:`~advocacy.graph.inputs.NPS_TO_SENTIMENT` (0-6 negative,
  7 neutral, 9-10 clearly positive);
- a review rating 1..5 as ``(rating - 3) / 2``; a support satisfaction 1..5 likewise.

Each signal has an evidence weight ``w = signal_weight(kind) * 2 ** (-age / half_life)`` and
the customer's sentiment is ``sum(w * s) / (sum(w) + prior_strength)``: the mean shrunk
toward neutral 0 by ``prior_strength`` pseudo-observations. One glowing tweet (+1) gives
``1 / 6 = 0.17``; thirty give ``30 / 35 = 0.86``. The component is ``(sentiment + 1) / 2``,
so 0.5 is neutral (and is what a customer with no signals gets).

Detractor gate (:data:`GATE_NPS` | :data:`GATE_SENTIMENT` | :data:`GATE_RECENT`): a customer
is gated when their latest NPS is ``<= detractor_nps_max`` (6) and was given within
``detractor_nps_window_days`` (180), or their shrunk sentiment is below
``detractor_sentiment_below`` (-0.15), or the same shrunk average over only the last
``recent_window_days`` (30, undecayed) is below it: a recent turn against the brand gates
even a long-time fan, because a campaign would reach people while they are unhappy.
Three mentions at -0.6 within a month give ``-1.8 / 8 = -0.23``: gated; one at -0.8 gives
-0.13: not gated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from advocacy.graph.inputs import DAY, NPS, REVIEW, SUPPORT_CONTACT, RankingInput, RankingParams
from advocacy.graph.timeutil import decay

GATE_NPS = 1
GATE_SENTIMENT = 2
GATE_RECENT = 4
GATE_NAMES: dict[int, str] = {
    GATE_NPS: "detractor_nps",
    GATE_SENTIMENT: "negative_sentiment",
    GATE_RECENT: "recent_negative_sentiment",
}


def gate_names(code: int) -> list[str]:
    """The gate bitmask as names, e.g. ``["detractor_nps", "negative_sentiment"]``."""
    return [name for bit, name in GATE_NAMES.items() if code & bit]


@dataclass
class SentimentFacts:
    shrunk: np.ndarray  # float64 in [-1, 1], decayed and shrunk toward 0
    recent_shrunk: np.ndarray  # float64, last recent_window_days only, undecayed
    evidence: np.ndarray  # float64, sum of decayed evidence weights
    mentions_positive: np.ndarray  # int32, all time
    mentions_negative: np.ndarray  # int32, all time
    mentions_positive_recent: np.ndarray  # int32, within facts_window_days
    mentions_negative_recent: np.ndarray  # int32, within recent_window_days
    latest_nps: np.ndarray  # int8, -1 when never answered
    latest_nps_time: np.ndarray  # float64, NaN when never answered
    latest_review: np.ndarray  # int8 rating 1..5, -1 when none
    latest_review_time: np.ndarray  # float64
    gate: np.ndarray  # uint8 bitmask of GATE_*; 0 = not a detractor


def compute_sentiment(inp: RankingInput, params: RankingParams) -> SentimentFacts:
    n, now = inp.n, inp.now
    customer, value, time, weight = _signals(inp, params)

    decayed = weight * decay(time, now, params.sentiment_half_life_days)
    shrunk = _shrunk_mean(customer, value, decayed, n, params.sentiment_prior_strength)
    recent = (now - time) <= params.recent_window_days * DAY
    recent_shrunk = _shrunk_mean(
        customer[recent], value[recent], weight[recent], n, params.sentiment_prior_strength
    )
    evidence = np.bincount(customer, weights=decayed, minlength=n)

    counts = _mention_counts(inp, params)
    nps_ok = (inp.ev_kind == NPS) & _in_range(inp.ev_value, 0, 10)
    latest_nps, latest_nps_time = _latest(inp.ev_customer, inp.ev_value, inp.ev_time, nps_ok, n)
    review_ok = (inp.ev_kind == REVIEW) & _in_range(inp.ev_value, 1, 5)
    latest_review, latest_review_time = _latest(
        inp.ev_customer, inp.ev_value, inp.ev_time, review_ok, n
    )

    gate = np.zeros(n, dtype=np.uint8)
    # NaN (never answered) compares False: no warning, no gate.
    nps_recent = (now - latest_nps_time) <= params.detractor_nps_window_days * DAY
    gate[(latest_nps >= 0) & (latest_nps <= params.detractor_nps_max) & nps_recent] |= GATE_NPS
    gate[shrunk < params.detractor_sentiment_below] |= GATE_SENTIMENT
    gate[recent_shrunk < params.detractor_sentiment_below] |= GATE_RECENT
    return SentimentFacts(
        shrunk=shrunk,
        recent_shrunk=recent_shrunk,
        evidence=evidence,
        latest_nps=latest_nps,
        latest_nps_time=latest_nps_time,
        latest_review=latest_review,
        latest_review_time=latest_review_time,
        gate=gate,
        **counts,
    )


def _signals(
    inp: RankingInput, params: RankingParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All signals as (customer, value in [-1, 1], time, undecayed evidence weight)."""
    weights = params.sentiment_signal_weights
    nps_table = np.asarray(params.nps_to_sentiment)
    kind, value = inp.ev_kind, inp.ev_value

    nps = (kind == NPS) & _in_range(value, 0, 10)
    rated = ((kind == REVIEW) | (kind == SUPPORT_CONTACT)) & _in_range(value, 1, 5)
    nps_value = nps_table[np.rint(value[nps]).astype(np.intp)]
    rated_value = (value[rated] - 3.0) / 2.0
    rated_weight = np.where(
        kind[rated] == REVIEW, weights.get("review", 0.0), weights.get("support_contact", 0.0)
    )
    customer = np.concatenate([inp.m_customer, inp.ev_customer[nps], inp.ev_customer[rated]])
    value_all = np.concatenate([inp.m_sentiment, nps_value, rated_value])
    time = np.concatenate([inp.m_time, inp.ev_time[nps], inp.ev_time[rated]])
    weight = np.concatenate(
        [
            np.full(inp.m_customer.size, weights.get("mention", 0.0)),
            np.full(nps_value.size, weights.get("nps", 0.0)),
            rated_weight,
        ]
    )
    return customer, value_all, time, weight


def _shrunk_mean(
    customer: np.ndarray, value: np.ndarray, weight: np.ndarray, n: int, prior: float
) -> np.ndarray:
    total = np.bincount(customer, weights=weight * value, minlength=n)
    evidence = np.bincount(customer, weights=weight, minlength=n)
    return total / (evidence + prior)


def _mention_counts(inp: RankingInput, params: RankingParams) -> dict[str, np.ndarray]:
    n, now = inp.n, inp.now
    positive = inp.m_sentiment > params.mention_polarity_threshold
    negative = inp.m_sentiment < -params.mention_polarity_threshold
    age = now - inp.m_time
    in_facts_window = age <= params.facts_window_days * DAY
    in_recent_window = age <= params.recent_window_days * DAY

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(inp.m_customer[mask], minlength=n).astype(np.int32)

    return {
        "mentions_positive": count(positive),
        "mentions_negative": count(negative),
        "mentions_positive_recent": count(positive & in_facts_window),
        "mentions_negative_recent": count(negative & in_recent_window),
    }


def _in_range(value: np.ndarray, low: float, high: float) -> np.ndarray:
    # NaN compares False, so "no value" drops out without a warning.
    return (value >= low) & (value <= high)


def _latest(
    customer: np.ndarray, value: np.ndarray, time: np.ndarray, mask: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per customer, the value and time of their latest masked event (-1 / NaN when none).

    Sorting by (customer, time, value) and keeping each customer's last row makes the
    choice deterministic even when two answers share a timestamp (the higher value wins).
    """
    c, v, t = customer[mask], value[mask], time[mask]
    latest_value = np.full(n, -1, dtype=np.int8)
    latest_time = np.full(n, np.nan)
    if c.size == 0:
        return latest_value, latest_time
    order = np.lexsort((v, t, c))
    c, v, t = c[order], v[order], t[order]
    last = np.flatnonzero(np.append(c[1:] != c[:-1], True))
    latest_value[c[last]] = np.rint(v[last]).astype(np.int8)
    latest_time[c[last]] = t[last]
    return latest_value, latest_time
