"""End to end over arbitrary small workspaces: bounded, deterministic, never a warning."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from advocacy.graph.components import compute_components
from advocacy.graph.inputs import DAY, RankingInput
from advocacy.graph.reasons import explain
from advocacy.graph.scoring import COMPONENT_NAMES, OBJECTIVE_WEIGHTS, rank_order
from advocacy.graph.selection import select_advocates
from advocacy.graph.value import edge_probabilities, expected_values, listener_weights

NOW = 1_750_000_000.0


@st.composite
def workspaces(draw: st.DrawFn) -> RankingInput:
    n = draw(st.integers(1, 25))
    customer = st.integers(0, n - 1)
    days = st.floats(-2, 1500)
    events = draw(st.lists(st.tuples(customer, st.integers(0, 7), st.floats(-1, 12), days)))
    mentions = draw(st.lists(st.tuples(customer, st.floats(-1, 1), days)))
    edges = draw(
        st.lists(
            st.tuples(
                customer,
                customer,
                st.integers(0, 9),
                st.integers(0, 9),
                st.booleans(),
                st.one_of(st.just(float("nan")), st.floats(-1, 1)),
            )
        )
    )
    invites = draw(st.lists(st.integers(0, 50), min_size=n, max_size=n))
    return RankingInput(
        n=n,
        now=NOW,
        followers=np.asarray(draw(st.lists(st.integers(-1, 10**6), min_size=n, max_size=n))),
        ev_customer=np.asarray([e[0] for e in events], dtype=np.int32),
        ev_kind=np.asarray([e[1] for e in events], dtype=np.int8),  # 7 = an unknown kind
        ev_value=np.asarray([e[2] for e in events]),
        ev_amount=np.asarray([abs(e[2]) * 1000 for e in events]),
        ev_time=np.asarray([NOW - e[3] * DAY for e in events]),
        m_customer=np.asarray([m[0] for m in mentions], dtype=np.int32),
        m_sentiment=np.asarray([m[1] for m in mentions]),
        m_time=np.asarray([NOW - m[2] * DAY for m in mentions]),
        c_source=np.asarray([e[0] for e in edges], dtype=np.int32),
        c_target=np.asarray([e[1] for e in edges], dtype=np.int32),
        c_replies=np.asarray([e[2] for e in edges]),
        c_likes=np.asarray([e[3] for e in edges]),
        c_follows=np.asarray([e[4] for e in edges], dtype=bool),
        c_sentiment=np.asarray([e[5] for e in edges]),
        tr_invites=np.asarray(invites),
        tr_clicks=np.asarray([i // 3 for i in invites]),
        tr_conversions=np.asarray([i // 10 for i in invites]),
    )


@settings(max_examples=40, deadline=None)
@given(workspaces())
def test_pipeline_is_bounded_and_deterministic(inp: RankingInput) -> None:
    first, second = compute_components(inp), compute_components(inp)
    for name in COMPONENT_NAMES:
        values = first.component(name)
        assert np.all((values >= 0) & (values <= 1)), name
        np.testing.assert_array_equal(values, second.component(name))
    values, again_values = expected_values(first), expected_values(second)
    assert np.all((values.share >= 0) & (values.share <= 1))
    for objective, weights in OBJECTIVE_WEIGHTS.items():
        scores = values.value[objective]
        assert np.all(np.isfinite(scores))
        np.testing.assert_array_equal(scores < 0, first.detractor)
        order = rank_order(scores, first.eligible)
        np.testing.assert_array_equal(
            order, rank_order(again_values.value[objective], second.eligible)
        )
        assert sorted(order.tolist()) == list(range(inp.n))
        for i in order[:3]:
            reasons = explain(first, int(i), weights)
            assert len(reasons) <= 4 and all(isinstance(r, str) and r for r in reasons)
        prob = edge_probabilities(
            first.graph.reach_prob, values.share, listener_weights(first, objective)
        )
        assert np.all((prob.data >= 0) & (prob.data <= 1))
        for strategy in ("top", "coverage", "spread"):
            picked = select_advocates(prob, scores, first.eligible, 3, strategy)
            again = select_advocates(prob, scores, second.eligible, 3, strategy)
            assert picked == again
            assert all(first.eligible[i] and scores[i] > 0 for i in picked.indices)
