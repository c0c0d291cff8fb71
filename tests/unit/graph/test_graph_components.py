"""Planted cases: each component responds to the evidence it should, and only to that."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from advocacy.graph.components import compute_components
from advocacy.graph.engagement import shrink_activity
from advocacy.graph.inputs import RankingInput, RankingParams
from advocacy.graph.scoring import COMPONENT_NAMES, rank_order
from advocacy.graph.sentiment import GATE_NPS, GATE_RECENT, GATE_SENTIMENT
from advocacy.graph.track_record import track_record_component
from advocacy.graph.value import LISTENER_OBJECTIVES, expected_values, multipliers

if TYPE_CHECKING:
    from conftest import Workspace


def busy_background(ws: Workspace, first: int) -> Workspace:
    """Ordinary customers from ``first`` on, so workspace medians are not degenerate."""
    for c in range(first, ws.n):
        ws.purchases(c, 1 + c % 3, days_ago=20 + c)
        ws.mention(c, 0.3, days_ago=40)
        ws.connect((c + 1 - first) % (ws.n - first) + first, c, replies=1, days_ago=30)
    return ws


def test_detractor_with_5000_followers_is_gated_and_ranks_below_a_40_follower_promoter(
    workspace: type[Workspace],
) -> None:
    ws = busy_background(workspace(260), first=2)
    detractor, promoter = 0, 1
    ws.followers[detractor], ws.followers[promoter] = 5000, 40
    ws.event(detractor, "nps", 10, value=2).purchases(detractor, 8, days_ago=5)
    for follower in range(2, 252):
        ws.connect(follower, detractor, follows=True, likes=1, days_ago=3)
    ws.event(promoter, "nps", 21, value=10).purchases(promoter, 2, days_ago=15)
    for friend in range(2, 8):
        ws.connect(friend, promoter, replies=3, days_ago=5)

    components = compute_components(ws.build())

    assert not components.eligible[detractor]
    assert components.gate[detractor] & GATE_NPS
    assert components.eligible[promoter]
    values = expected_values(components)
    for objective in LISTENER_OBJECTIVES:
        order = list(rank_order(values.value[objective], components.eligible))
        assert order.index(promoter) < order.index(detractor)
        assert values.value[objective][detractor] < 0 < values.value[objective][promoter]


def test_followers_never_change_a_score(workspace: type[Workspace]) -> None:
    ws = busy_background(workspace(20), first=0)
    before = compute_components(ws.build())
    ws.followers[:] = np.arange(20) * 100_000
    after = compute_components(ws.build())
    for objective in LISTENER_OBJECTIVES:
        np.testing.assert_array_equal(
            expected_values(before).value[objective], expected_values(after).value[objective]
        )


def test_thirty_positive_mentions_outweigh_one(workspace: type[Workspace]) -> None:
    ws = workspace(3)
    one, thirty, silent = 0, 1, 2
    ws.mention(one, 0.9, days_ago=3)
    for day in range(30):
        ws.mention(thirty, 0.9, days_ago=day)

    components = compute_components(ws.build())
    sentiment = components.sentiment

    assert sentiment[silent] == 0.5  # no evidence: exactly neutral
    assert 0.5 < sentiment[one] < 0.6  # one tweet is weak evidence
    assert sentiment[thirty] > 0.85
    attitude = multipliers(components)["attitude"]
    assert attitude[thirty] > attitude[one] > attitude[silent] > 0


def test_an_old_glowing_review_decays_against_recent_activity(workspace: type[Workspace]) -> None:
    ws = busy_background(workspace(30), first=2)
    old_fan, recent = 0, 1
    ws.event(old_fan, "review", 700, value=5).event(old_fan, "nps", 720, value=10)
    ws.purchases(old_fan, 6, days_ago=700)
    ws.event(recent, "review", 10, value=4).purchases(recent, 3, days_ago=5)

    components = compute_components(ws.build())

    assert components.engagement[recent] > 3 * components.engagement[old_fan]
    facts = components.sentiment_facts
    assert facts.evidence[recent] > 5 * facts.evidence[old_fan]
    share = expected_values(components).share
    assert share[recent] > share[old_fan]


def test_twenty_replying_friends_beat_two_hundred_silent_followers(
    workspace: type[Workspace],
) -> None:
    ws = workspace(230)
    silent_audience, replied_to = 0, 1
    for follower in range(2, 202):
        ws.connect(follower, silent_audience, follows=True, days_ago=10)
    for friend in range(202, 222):
        ws.connect(friend, replied_to, replies=4, follows=True, days_ago=7)
    ws.followers[silent_audience], ws.followers[replied_to] = 200, 20

    components = compute_components(ws.build())

    assert components.influence[replied_to] > components.influence[silent_audience]
    assert components.reach[replied_to] > components.reach[silent_audience]
    assert components.graph.listeners[silent_audience] == 0
    assert components.graph.follow_only[silent_audience] == 200
    assert components.graph.repliers[replied_to] == 20


def test_activity_is_shrunk_toward_the_workspace_mean_by_its_noise() -> None:
    # 40 customers at 1, 10 at 5, one idle; every event the same size (1), so each
    # record's noise equals its raw value and the mean noise equals the mean (90 / 51).
    # The levels differ by the variance less that noise; a 5 keeps spread / (spread + 5)
    # of its distance from the mean.
    raw = np.array([1.0] * 40 + [5.0] * 10 + [0.0])
    mean = (40 + 50) / 51
    spread = (40 + 250) / 51 - mean**2 - mean
    estimate = shrink_activity(raw, event_size=1.0)

    assert estimate[-2] == pytest.approx(mean + spread / (spread + 5) * (5 - mean))
    assert estimate[0] == pytest.approx(mean + spread / (spread + 1) * (1 - mean))
    assert estimate[0] < estimate[-2] < 5.0  # the order stays, the lead shrinks
    assert estimate[-1] == 0.0  # no events: nothing invented
    # Too few active customers to tell spread from noise: raw values kept.
    np.testing.assert_array_equal(shrink_activity(raw[30:], event_size=1.0), raw[30:])


def test_a_follow_keeps_reaching_while_replies_fade(workspace: type[Workspace]) -> None:
    # 0 has a follower from two years ago and one from yesterday; 1 has a reply from two
    # years ago and one from yesterday.
    ws = workspace(6)
    ws.connect(2, 0, follows=True, days_ago=730).connect(3, 0, follows=True, days_ago=1)
    ws.connect(4, 1, replies=1, days_ago=730).connect(5, 1, replies=1, days_ago=1)

    prob = compute_components(ws.build()).graph.reach_prob.toarray()

    assert prob[0, 2] == pytest.approx(prob[0, 3])
    assert prob[0, 2] == pytest.approx(1 - np.exp(-0.1 / 3))  # a bare follow: ~0.03
    assert prob[1, 4] < prob[1, 5] / 5


def test_distrust_lowers_influence_below_equally_popular_trusted_customer(
    workspace: type[Workspace],
) -> None:
    ws = workspace(40)
    trusted, contested = 0, 1
    for rater in range(2, 22):
        ws.connect(rater, trusted, replies=2, sentiment=0.8)
        tone = -0.9 if rater < 10 else 0.8
        ws.connect(rater, contested, replies=2, sentiment=tone)

    components = compute_components(ws.build())

    assert components.graph.distrusters[contested] == 8
    assert components.influence[trusted] > components.influence[contested]


def test_reach_counts_distinct_people_across_channels(workspace: type[Workspace]) -> None:
    ws = workspace(4)
    for channel_likes in (1, 2, 3):  # the same person on three channels
        ws.connect(1, 0, likes=channel_likes, days_ago=1)
    ws.connect(2, 0, replies=1, days_ago=1)
    ws.connect(0, 0, replies=50, days_ago=1)  # a self-tie is ignored

    components = compute_components(ws.build())

    assert components.graph.listeners[0] == 2
    assert components.graph.expected_reach[0] < 2


def test_recent_run_of_negative_mentions_gates_a_long_time_fan(workspace: type[Workspace]) -> None:
    ws = workspace(2)
    for week in range(40):
        ws.mention(0, 0.8, days_ago=60 + 7 * week)
    for day in (2, 9, 20):
        ws.mention(0, -0.7, days_ago=day)
    ws.mention(1, -0.8, days_ago=5)  # one bad day is not enough

    components = compute_components(ws.build())

    assert components.gate[0] == GATE_RECENT
    assert components.gate[1] == 0


def test_mostly_negative_history_gates(workspace: type[Workspace]) -> None:
    ws = workspace(1)
    for month in range(8):
        ws.mention(0, -0.6, days_ago=45 + 30 * month)
    components = compute_components(ws.build())
    assert components.gate[0] == GATE_SENTIMENT


def test_old_detractor_nps_does_not_gate_forever(workspace: type[Workspace]) -> None:
    ws = workspace(2)
    ws.event(0, "nps", 400, value=3)
    ws.event(1, "nps", 30, value=3).event(1, "nps", 10, value=9)  # the latest answer counts
    components = compute_components(ws.build())
    assert not components.gate[0] & GATE_NPS
    assert not components.gate[1] & GATE_NPS
    assert components.sentiment_facts.latest_nps[1] == 9


def test_track_record_is_neutral_without_history_and_smoothed_with_it() -> None:
    params = RankingParams()
    invites = np.array([0, 20, 20, 2, 200])
    clicks = np.array([0, 0, 8, 1, 80])
    conversions = np.array([0, 0, 3, 1, 30])
    track = track_record_component(invites, clicks, conversions, params)
    assert track[0] == pytest.approx(0.5)
    assert track[1] < 0.5 < track[2]
    assert track[3] < track[2] < track[4]  # 1 of 2 is weaker evidence than 3 of 20


def test_components_are_in_unit_interval_and_deterministic(workspace: type[Workspace]) -> None:
    rng = np.random.default_rng(3)
    ws = busy_background(workspace(80), first=0)
    for _ in range(300):
        u, v = (int(x) for x in rng.integers(0, 80, 2))
        ws.connect(u, v, replies=int(rng.integers(0, 3)), sentiment=float(rng.uniform(-1, 1)))
        ws.mention(u, float(rng.uniform(-1, 1)), days_ago=float(rng.uniform(0, 400)))
    first, second = compute_components(ws.build()), compute_components(ws.build())
    for name in COMPONENT_NAMES:
        values = first.component(name)
        assert np.all((values >= 0) & (values <= 1)), name
        np.testing.assert_array_equal(values, second.component(name))
    np.testing.assert_array_equal(first.gate, second.gate)


def test_empty_workspace_and_workspace_without_signals() -> None:
    empty = compute_components(RankingInput(n=0, now=0))
    assert empty.engagement.size == 0
    quiet = compute_components(RankingInput(n=3, now=0))
    assert np.all(quiet.engagement == 0) and np.all(quiet.influence == 0)
    assert np.all(quiet.sentiment == 0.5) and np.all(quiet.eligible)


@pytest.mark.parametrize(
    "bad",
    [
        {"ev_customer": [5], "ev_kind": [0], "ev_time": [0.0]},
        {"c_source": [0, 1], "c_target": [1]},
        {"m_customer": [0], "m_sentiment": [1.5], "m_time": [0.0]},
        {"followers": [1, 2]},
    ],
)
def test_malformed_input_is_rejected(bad: dict[str, list[float]]) -> None:
    with pytest.raises(ValueError):
        RankingInput(n=3, now=0, **{k: np.asarray(v) for k, v in bad.items()})


def test_params_round_trip_as_plain_data() -> None:
    params = RankingParams(distrust_weight=1.5)
    as_dict = params.to_dict()
    assert as_dict["distrust_weight"] == 1.5
    assert RankingParams(**{**as_dict, "nps_to_sentiment": tuple(as_dict["nps_to_sentiment"])}) == (
        params
    )
    with pytest.raises(ValueError):
        RankingParams(damping=1.0)
