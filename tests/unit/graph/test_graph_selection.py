"""Selecting a set of advocates: overlap-aware, exact lazy greedy, deterministic."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from advocacy.graph.components import Components, compute_components
from advocacy.graph.network import InteractionGraph
from advocacy.graph.scoring import OBJECTIVE_WEIGHTS, score
from advocacy.graph.selection import expected_coverage, select_advocates
from advocacy.graph.spread import SpreadOptions

if TYPE_CHECKING:
    from conftest import Workspace


def two_friend_groups(workspace: type[Workspace]) -> tuple[Components, np.ndarray]:
    """Group A: five very active customers who all reach the same 30 people.
    Group B: three less active customers, each with 30 people of their own."""
    ws = workspace(200)
    group_a = range(0, 5)
    group_b = range(5, 8)
    shared_audience = range(20, 50)
    for advocate in group_a:
        ws.purchases(advocate, 12, days_ago=3)
        ws.event(advocate, "nps", 10, value=10)
        for person in shared_audience:
            ws.connect(person, advocate, replies=3, days_ago=5)
    for b, advocate in enumerate(group_b):
        ws.purchases(advocate, 2, days_ago=3)
        ws.event(advocate, "nps", 10, value=9)
        for person in range(50 + 30 * b, 80 + 30 * b):
            ws.connect(person, advocate, replies=3, days_ago=5)
    for person in range(20, 200):
        ws.purchases(person, 1, days_ago=40)
    components = compute_components(ws.build())
    return components, score(components, OBJECTIVE_WEIGHTS["conversion"])


def test_coverage_spreads_across_friend_groups_where_top_piles_into_one(
    workspace: type[Workspace],
) -> None:
    components, scores = two_friend_groups(workspace)
    args = (components.graph, scores, components.eligible, 4)
    top = select_advocates(*args, "top", detractor=components.detractor)
    coverage = select_advocates(*args, "coverage", detractor=components.detractor)

    assert set(top.indices) <= {0, 1, 2, 3, 4}
    assert set(coverage.indices) >= {5, 6, 7}
    assert coverage.expected_reach > 2 * top.expected_reach
    assert top.advocates[1][1] < 0.5 * top.advocates[0][1]  # the second reaches the same people


def test_spread_also_spreads_across_groups_and_is_seeded(workspace: type[Workspace]) -> None:
    components, scores = two_friend_groups(workspace)
    args = (components.graph, scores, components.eligible, 4, "spread")
    first = select_advocates(*args, detractor=components.detractor, seed=7)
    again = select_advocates(*args, detractor=components.detractor, seed=7)
    assert first == again
    assert set(first.indices) >= {5, 6, 7}
    gains = [gain for _, gain in first.advocates]
    assert gains == sorted(gains, reverse=True)


def test_exclude_and_candidates_are_respected(workspace: type[Workspace]) -> None:
    components, scores = two_friend_groups(workspace)
    for strategy in ("top", "coverage", "spread"):
        chosen = select_advocates(
            components.graph,
            scores,
            components.eligible,
            3,
            strategy,
            exclude=[5],
            candidates=[0, 1, 5, 6],
        ).indices
        assert set(chosen) <= {0, 1, 6}, strategy
        assert 6 in chosen and 5 not in chosen, strategy


def test_detractors_are_never_chosen_and_count_zero_as_listeners(
    workspace: type[Workspace],
) -> None:
    ws = workspace(12)
    for listener in range(2, 12):
        ws.connect(listener, 0, replies=3, days_ago=1)
    for listener in range(2, 5):
        ws.connect(listener, 1, replies=3, days_ago=1)
    for unhappy in range(5, 12):
        ws.event(unhappy, "nps", 5, value=2)
    ws.event(1, "nps", 5, value=1)
    components = compute_components(ws.build())
    scores = np.ones(12)
    selection = select_advocates(
        components.graph,
        scores,
        components.eligible,
        12,
        "coverage",
        detractor=components.detractor,
    )
    assert 1 not in selection.indices and not set(selection.indices) & set(range(5, 12))
    reach_of_0 = dict(selection.advocates)[0]
    assert reach_of_0 == pytest.approx(3 * (1 - np.exp(-3 * 0.9962 / 3)), rel=0.01)


def random_graph(seed: int, n: int = 60, edges: int = 300) -> InteractionGraph:
    rng = np.random.default_rng(seed)
    from advocacy.graph.inputs import RankingInput, RankingParams
    from advocacy.graph.network import build_interaction_graph

    inp = RankingInput(
        n=n,
        now=0.0,
        c_source=rng.integers(0, n, edges),
        c_target=rng.integers(0, n, edges),
        c_replies=rng.integers(0, 5, edges),
        c_likes=rng.integers(0, 5, edges),
    )
    return build_interaction_graph(inp, RankingParams())


def plain_greedy(
    graph: InteractionGraph, scores: np.ndarray, allowed: np.ndarray, value: np.ndarray, k: int
) -> list[int]:
    """Textbook greedy: re-evaluate every candidate every round, same tie-break."""
    chosen: list[int] = []
    missed = np.ones(graph.n)
    prob = graph.reach_prob
    for _ in range(k):
        best: tuple[float, float, int] | None = None
        for u in np.flatnonzero(allowed):
            if u in chosen:
                continue
            lo, hi = prob.indptr[u], prob.indptr[u + 1]
            listeners = prob.indices[lo:hi]
            gain = float(np.dot(value[listeners] * missed[listeners], prob.data[lo:hi]))
            key = (-gain, -float(scores[u]), int(u))
            best = key if best is None or key < best else best
        if best is None:
            break
        u = best[2]
        lo, hi = prob.indptr[u], prob.indptr[u + 1]
        missed[prob.indices[lo:hi]] *= 1 - prob.data[lo:hi]
        chosen.append(u)
    return chosen


@pytest.mark.parametrize("seed", range(6))
def test_lazy_greedy_equals_plain_greedy_and_gains_never_increase(seed: int) -> None:
    graph = random_graph(seed)
    rng = np.random.default_rng(100 + seed)
    scores = np.round(rng.random(graph.n), 1)
    eligible = rng.random(graph.n) < 0.8
    detractor = rng.random(graph.n) < 0.15
    k = 12

    selection = select_advocates(graph, scores, eligible, k, "coverage", detractor=detractor)

    value = np.where(detractor, 0.0, 1.0)
    assert selection.indices == plain_greedy(graph, scores, eligible, value, k)
    gains = [gain for _, gain in selection.advocates]
    assert all(a >= b - 1e-12 for a, b in zip(gains, gains[1:], strict=False))
    assert selection.expected_reach == pytest.approx(sum(gains))
    assert selection.expected_reach == pytest.approx(
        expected_coverage(graph, selection.indices, detractor)
    )


def test_greedy_is_within_one_minus_one_over_e_of_the_best_set() -> None:
    from itertools import combinations

    graph = random_graph(11, n=14, edges=50)
    scores = np.zeros(graph.n)
    eligible = np.ones(graph.n, dtype=bool)
    chosen = select_advocates(graph, scores, eligible, 3, "coverage")
    best = max(expected_coverage(graph, s) for s in combinations(range(graph.n), 3))
    assert chosen.expected_reach >= (1 - 1 / np.e) * best


def test_spread_estimate_matches_a_monte_carlo_cascade() -> None:
    graph = random_graph(5, n=300, edges=1500)
    scores = np.zeros(graph.n)
    eligible = np.ones(graph.n, dtype=bool)
    options = SpreadOptions(epsilon=0.2, max_hops=2)
    selection = select_advocates(
        graph, scores, eligible, 5, "spread", seed=1, spread_options=options
    )
    simulated = simulate_cascade(graph, selection.indices, hops=2, runs=3000, seed=2)
    assert selection.expected_reach == pytest.approx(simulated, rel=0.1)


def simulate_cascade(
    graph: InteractionGraph, seeds: list[int], hops: int, runs: int, seed: int
) -> float:
    rng = np.random.default_rng(seed)
    prob = graph.reach_prob
    total = 0
    for _ in range(runs):
        reached = set(seeds)
        frontier = list(seeds)
        for _ in range(hops):
            nxt = []
            for u in frontier:
                lo, hi = prob.indptr[u], prob.indptr[u + 1]
                live = rng.random(hi - lo) < prob.data[lo:hi]
                for v in prob.indices[lo:hi][live]:
                    if int(v) not in reached:
                        reached.add(int(v))
                        nxt.append(int(v))
            frontier = nxt
        total += len(reached)
    return total / runs


def test_unknown_strategy_and_negative_k_are_rejected() -> None:
    graph = random_graph(0, n=5, edges=5)
    with pytest.raises(ValueError, match="unknown strategy"):
        select_advocates(graph, np.zeros(5), np.ones(5, dtype=bool), 2, "random")
    with pytest.raises(ValueError):
        select_advocates(graph, np.zeros(5), np.ones(5, dtype=bool), -1)
