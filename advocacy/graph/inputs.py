"""What the ranking reads: one workspace as plain numpy arrays, and the tunable parameters.

Customers are indexed ``0..n-1``; every other array refers to them by that index. Arrays a
caller leaves out default to empty (events, mentions, connections) or to "unknown"
(followers ``-1``, no invitation history), so tests can build small cases tersely.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Stable codes for EngagementEvent.kind; the caller maps kind strings with this table.
EVENT_KIND_CODES: dict[str, int] = {
    "purchase": 0,
    "review": 1,
    "support_contact": 2,
    "nps": 3,
    "login": 4,
    "email_click": 5,
    "other": 6,
}
PURCHASE = EVENT_KIND_CODES["purchase"]
REVIEW = EVENT_KIND_CODES["review"]
SUPPORT_CONTACT = EVENT_KIND_CODES["support_contact"]
NPS = EVENT_KIND_CODES["nps"]
LOGIN = EVENT_KIND_CODES["login"]
EMAIL_CLICK = EVENT_KIND_CODES["email_click"]
OTHER = EVENT_KIND_CODES["other"]

DAY = 86_400.0

# (attribute, dtype, fill when not given) per group; a None fill means the column is required
# whenever its group is given. The first attribute of a group fixes the group's length.
_EVENT_FIELDS = (
    ("ev_customer", np.int32, None),
    ("ev_kind", np.int8, None),
    ("ev_value", np.float64, np.nan),
    ("ev_amount", np.float64, np.nan),
    ("ev_time", np.float64, None),
)
_MENTION_FIELDS = (
    ("m_customer", np.int32, None),
    ("m_sentiment", np.float64, None),
    ("m_time", np.float64, None),
)
_CONNECTION_FIELDS = (
    ("c_source", np.int32, None),
    ("c_target", np.int32, None),
    ("c_replies", np.int32, 0),
    ("c_likes", np.int32, 0),
    ("c_shares", np.int32, 0),
    ("c_messages", np.int32, 0),
    ("c_follows", np.bool_, False),
    ("c_sentiment", np.float64, np.nan),
    ("c_last_time", np.float64, np.nan),
)
_CUSTOMER_FIELDS = (
    ("followers", np.int64, -1),
    ("tr_invites", np.int64, 0),
    ("tr_clicks", np.int64, 0),
    ("tr_conversions", np.int64, 0),
)


def _empty() -> np.ndarray:
    return np.empty(0)


@dataclass
class RankingInput:
    """One workspace, customers ``0..n-1``. Arrays are coerced to the documented dtypes.

    An array left empty means "not given": event, mention and connection columns other than
    the indices and times default to "unknown" (NaN) or zero, ``followers`` to ``-1`` and the
    invitation history to zeros.

    Connections are directed: ``c_source`` interacts with (or follows) ``c_target``, so the
    target is the one being listened to and influence flows to the target. Several rows for
    the same pair (one per channel) are summed. ``followers`` is passed through for
    comparison only and never raises a score.
    """

    n: int
    now: float
    followers: np.ndarray = field(default_factory=_empty)
    ev_customer: np.ndarray = field(default_factory=_empty)
    ev_kind: np.ndarray = field(default_factory=_empty)
    ev_value: np.ndarray = field(default_factory=_empty)
    ev_amount: np.ndarray = field(default_factory=_empty)
    ev_time: np.ndarray = field(default_factory=_empty)
    m_customer: np.ndarray = field(default_factory=_empty)
    m_sentiment: np.ndarray = field(default_factory=_empty)
    m_time: np.ndarray = field(default_factory=_empty)
    c_source: np.ndarray = field(default_factory=_empty)
    c_target: np.ndarray = field(default_factory=_empty)
    c_replies: np.ndarray = field(default_factory=_empty)
    c_likes: np.ndarray = field(default_factory=_empty)
    c_shares: np.ndarray = field(default_factory=_empty)
    c_messages: np.ndarray = field(default_factory=_empty)
    c_follows: np.ndarray = field(default_factory=_empty)
    c_sentiment: np.ndarray = field(default_factory=_empty)
    c_last_time: np.ndarray = field(default_factory=_empty)
    tr_invites: np.ndarray = field(default_factory=_empty)
    tr_clicks: np.ndarray = field(default_factory=_empty)
    tr_conversions: np.ndarray = field(default_factory=_empty)

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("n must be >= 0")
        self.n = int(self.n)
        self.now = float(self.now)
        # Before the cast to int32, so an out-of-range id cannot wrap around into range.
        for name in ("ev_customer", "m_customer", "c_source", "c_target"):
            values = np.asarray(getattr(self, name))
            if values.size and (values.min() < 0 or values.max() >= self.n):
                raise ValueError(f"{name} refers to a customer outside 0..{self.n - 1}")
        _coerce_group(self, _CUSTOMER_FIELDS, length=self.n)
        for group in (_EVENT_FIELDS, _MENTION_FIELDS, _CONNECTION_FIELDS):
            # The first column of a group (a customer index) fixes the group's length.
            _coerce_group(self, group, length=np.asarray(getattr(self, group[0][0])).size)
        for name in ("ev_time", "m_time"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ValueError(f"{name} must be finite epoch seconds")
        sentiment = self.m_sentiment
        if sentiment.size and not (np.all(np.isfinite(sentiment)) and np.abs(sentiment).max() <= 1):
            raise ValueError("m_sentiment must lie in [-1, 1]")

    @property
    def n_connections(self) -> int:
        return int(self.c_source.size)


def _coerce_group(inp: RankingInput, fields: tuple[tuple[str, Any, Any], ...], length: int) -> None:
    for name, dtype, fill in fields:
        value = np.asarray(getattr(inp, name))
        if value.ndim != 1:
            raise ValueError(f"{name} must be one-dimensional")
        if value.size == 0 and length and fill is not None:
            value = np.full(length, fill, dtype=dtype)
        else:
            value = value.astype(dtype, copy=False)
        if value.size != length:
            raise ValueError(f"{name} has {value.size} entries, expected {length}")
        setattr(inp, name, value)


def _default_event_weights() -> dict[str, float]:
    # Per event before decay; a purchase also earns a spend bonus (see engagement module).
    return {
        "purchase": 1.0,
        "review": 1.0,
        "support_contact": 0.3,
        "nps": 0.5,
        "login": 0.1,
        "email_click": 0.2,
        "other": 0.1,
    }


def _default_signal_weights() -> dict[str, float]:
    # How many "mention-equivalents" of evidence one signal is worth in the sentiment average:
    # an NPS answer is a deliberate statement about the brand, a support rating is about one
    # contact.
    return {"mention": 1.0, "nps": 3.0, "review": 2.0, "support_contact": 0.5}


def _default_interaction_weights() -> dict[str, float]:
    # A share repeats the customer's message to a new audience, so it weighs most; a like is
    # cheap; a follow without any interaction counts for little.
    return {"replies": 1.0, "shares": 1.5, "messages": 1.0, "likes": 0.25, "follows": 0.1}


# NPS answer 0..10 -> sentiment in [-1, 1]. Follows the NPS categories rather than a straight
# line: 0-6 are detractors (all negative), 7 is a neutral passive, 8 mildly positive,
# 9-10 promoters.
NPS_TO_SENTIMENT: tuple[float, ...] = (-1.0, -1.0, -0.9, -0.8, -0.7, -0.6, -0.4, 0.0, 0.2, 0.7, 1.0)


@dataclass(frozen=True)
class RankingParams:
    """Tunable parameters, persisted with every snapshot (``to_dict``). Times in days."""

    # Engagement: activity counts half as much after this many days.
    engagement_half_life_days: float = 90.0
    engagement_event_weights: dict[str, float] = field(default_factory=_default_event_weights)
    # Bonus per purchase: spend_weight * log1p(amount / workspace median purchase amount).
    spend_weight: float = 1.0

    # Sentiment: evidence half-life and the Bayesian prior: the shrunk sentiment is
    # sum(w*s) / (sum(w) + prior_strength), i.e. prior_strength neutral pseudo-observations.
    sentiment_half_life_days: float = 180.0
    sentiment_prior_strength: float = 5.0
    sentiment_signal_weights: dict[str, float] = field(default_factory=_default_signal_weights)
    nps_to_sentiment: tuple[float, ...] = NPS_TO_SENTIMENT
    # A mention counts as positive / negative in the facts beyond this magnitude (VADER's
    # conventional neutral band).
    mention_polarity_threshold: float = 0.05

    # Detractor gate (any one is enough).
    detractor_nps_max: int = 6  # latest NPS at or below this ...
    detractor_nps_window_days: float = 180.0  # ... answered within this many days
    detractor_sentiment_below: float = -0.15  # shrunk long-run sentiment below this
    recent_window_days: float = 30.0  # shrunk sentiment of this window alone below the same
    facts_window_days: float = 90.0  # "in the last 3 months" counts used by reasons

    # Interaction graph.
    interaction_half_life_days: float = 180.0
    interaction_weights: dict[str, float] = field(default_factory=_default_interaction_weights)
    # Decay factor for a tie whose last interaction time is unknown (one half-life old).
    unknown_interaction_decay: float = 0.5
    # A tie whose tone is below this carries distrust instead of trust.
    negative_tone_below: float = -0.05
    # Signed influence = trust PageRank inflow - distrust_weight * one-step distrust inflow;
    # a distrust vote costs twice what a trust vote earns (negativity bias).
    distrust_weight: float = 2.0
    # Tie strength at which a person's PageRank vote counts fully (two recent replies);
    # weaker ties pass on only strength / floor of a vote, so a bare follow moves 5%.
    attention_floor: float = 2.0
    damping: float = 0.85
    tolerance: float = 1e-9  # L1 change between iterations
    max_iterations: int = 300
    # Probability that advocate u's message reaches listener v: 1 - exp(-strength / scale).
    # With the default, one recent reply ~0.28, five ~0.81; a bare follow ~0.03.
    reach_strength_scale: float = 3.0

    # Track record: Beta-binomial smoothing toward the workspace rate (or these defaults
    # while the workspace has fewer than track_min_pooled_invites invitations in total).
    track_prior_strength: float = 20.0
    track_default_click_rate: float = 0.10
    track_default_conversion_rate: float = 0.02
    track_min_pooled_invites: int = 500
    # Share of the track-record lift that comes from conversions (rest from clicks).
    track_conversion_share: float = 0.7

    def __post_init__(self) -> None:
        positive = (
            "engagement_half_life_days",
            "sentiment_half_life_days",
            "interaction_half_life_days",
            "sentiment_prior_strength",
            "detractor_nps_window_days",
            "recent_window_days",
            "facts_window_days",
            "tolerance",
            "reach_strength_scale",
            "track_prior_strength",
            "track_default_click_rate",
            "track_default_conversion_rate",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")
        if not 0 < self.damping < 1:
            raise ValueError("damping must be in (0, 1)")
        if min(self.distrust_weight, self.spend_weight, self.attention_floor) < 0:
            raise ValueError("distrust_weight, spend_weight and attention_floor must be >= 0")
        if not 0 <= self.unknown_interaction_decay <= 1:
            raise ValueError("unknown_interaction_decay must be in [0, 1]")
        if not 0 <= self.track_conversion_share <= 1:
            raise ValueError("track_conversion_share must be in [0, 1]")
        if len(self.nps_to_sentiment) != 11:
            raise ValueError("nps_to_sentiment needs one value per NPS answer 0..10")
        unknown = set(self.engagement_event_weights) - set(EVENT_KIND_CODES)
        if unknown:
            raise ValueError(f"unknown event kinds: {sorted(unknown)}")
        for table in (
            self.engagement_event_weights,
            self.sentiment_signal_weights,
            self.interaction_weights,
        ):
            if any(w < 0 for w in table.values()):
                raise ValueError("weights must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy, stored with each score snapshot so a ranking can be reproduced."""
        out = dataclasses.asdict(self)
        out["nps_to_sentiment"] = list(self.nps_to_sentiment)
        return out
