"""All five components, the detractor gate and the facts behind them, for one workspace.

=============  =====================================================  =====================
component      raw signal                                             to [0, 1]
=============  =====================================================  =====================
engagement     decayed weighted CRM activity, shrunk toward the           ``saturate``
               workspace mean by its own noise (``engagement``)
sentiment      decayed Bayesian-average sentiment (``sentiment``)     ``(s + 1) / 2``
influence      signed trust-minus-distrust PageRank (``influence``)   ``saturate``
reach          expected distinct listeners ``sum p(u, v)``            ``saturate``
               (``network``)
track_record   Beta-binomial lift of clicks/conversions               ``lift / (1 + lift)``
               (``track_record``)
=============  =====================================================  =====================

``saturate`` is ``x / (x + workspace median of non-zero x)`` (see ``normalise``). A customer
is eligible unless the detractor gate (``sentiment``) fires; follower counts are carried
along for comparison and never enter a component.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from advocacy.graph.attitude import AttitudeFacts, compute_attitude
from advocacy.graph.engagement import EngagementFacts, compute_engagement
from advocacy.graph.influence import InfluenceFacts, compute_influence
from advocacy.graph.inputs import RankingInput, RankingParams
from advocacy.graph.network import InteractionGraph, build_interaction_graph
from advocacy.graph.normalise import saturate
from advocacy.graph.scoring import COMPONENT_NAMES
from advocacy.graph.sentiment import SentimentFacts, compute_sentiment
from advocacy.graph.track_record import track_record_component


@dataclass
class Components:
    n: int
    now: float
    params: RankingParams
    engagement: np.ndarray
    sentiment: np.ndarray
    influence: np.ndarray
    reach: np.ndarray
    track_record: np.ndarray
    eligible: np.ndarray  # bool
    gate: np.ndarray  # uint8 bitmask of sentiment.GATE_*; 0 when eligible
    followers: np.ndarray  # int64, -1 unknown; for comparison only
    invites: np.ndarray
    clicks: np.ndarray
    conversions: np.ndarray
    engagement_facts: EngagementFacts
    sentiment_facts: SentimentFacts
    attitude_facts: AttitudeFacts
    influence_facts: InfluenceFacts
    graph: InteractionGraph
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage

    @property
    def detractor(self) -> np.ndarray:
        return self.gate != 0

    def component(self, name: str) -> np.ndarray:
        if name not in COMPONENT_NAMES:
            raise KeyError(name)
        return getattr(self, name)  # type: ignore[no-any-return]

    def of(self, i: int) -> dict[str, float]:
        """One customer's components as plain floats (for a snapshot row)."""
        return {name: float(self.component(name)[i]) for name in COMPONENT_NAMES}


def compute_components(inp: RankingInput, params: RankingParams | None = None) -> Components:
    params = params or RankingParams()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = now - clock
        clock = now

    engagement = compute_engagement(inp, params)
    lap("engagement")
    sentiment = compute_sentiment(inp, params)
    lap("sentiment")
    graph = build_interaction_graph(inp, params)
    lap("graph")
    attitude = compute_attitude(inp, sentiment, graph.expected_reach)
    lap("attitude")
    influence = compute_influence(
        graph,
        damping=params.damping,
        tolerance=params.tolerance,
        max_iterations=params.max_iterations,
        distrust_weight=params.distrust_weight,
        attention_floor=params.attention_floor,
    )
    lap("influence")
    track = track_record_component(inp.tr_invites, inp.tr_clicks, inp.tr_conversions, params)
    components = Components(
        n=inp.n,
        now=inp.now,
        params=params,
        engagement=saturate(engagement.estimate),
        sentiment=(sentiment.shrunk + 1.0) / 2.0,
        influence=influence.component,
        reach=saturate(graph.expected_reach),
        track_record=track,
        eligible=sentiment.gate == 0,
        gate=sentiment.gate,
        followers=inp.followers,
        invites=inp.tr_invites,
        clicks=inp.tr_clicks,
        conversions=inp.tr_conversions,
        engagement_facts=engagement,
        sentiment_facts=sentiment,
        attitude_facts=attitude,
        influence_facts=influence,
        graph=graph,
        timings=timings,
    )
    lap("normalise")
    return components
