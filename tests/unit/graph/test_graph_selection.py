"""Selecting a set of advocates: one expected value, overlap counted once, exact lazy greedy."""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
import pytest
import scipy.sparse as sp

from advocacy.graph.components import Components, compute_components
from advocacy.graph.selection import downstream, expected_coverage, select_advocates
from advocacy.graph.value import edge_probabilities, expected_values, listener_weights

if TYPE_CHECKING:
    from conftest import Workspace


def planned(
    components: Components, objective: str = "conversion"
) -> tuple[sp.csr_array, np.ndarray]:
    """Activation probabilities and individual values, as the service computes them."""
    values = expected_values(components)
    prob = edge_probabilities(
        components.graph.reach_prob, values.share, listener_weights(components, objective)
    )
    return prob, values.value[objective]


def matrix(edges: dict[tuple[int, int], float], n: int) -> sp.csr_array:
    """``P[u, v]`` from ``{(advocate, listener): probability}``."""
    rows, cols = zip(*edges, strict=True) if edges else ((), ())
    return sp.csr_array(
        (list(edges.values()), (list(rows), list(cols))), shape=(n, n), dtype=np.float64
    )


def two_friend_groups(workspace: type[Workspace]) -> Components:
    """Group A: five fans who all reach the same 30 people.
    Group B: three slightly less active fans, each with 30 people of their own."""
    ws = workspace(200)
    for advocate in range(0, 5):
        ws.purchases(advocate, 12, days_ago=3)
        ws.event(advocate, "nps", 10, value=10)
        for person in range(20, 50):
            ws.connect(person, advocate, replies=3, days_ago=5)
    for b, advocate in enumerate(range(5, 8)):
        ws.purchases(advocate, 8, days_ago=3)
        ws.event(advocate, "nps", 10, value=10)
        for person in range(50 + 30 * b, 80 + 30 * b):
            ws.connect(person, advocate, replies=3, days_ago=5)
    for person in range(20, 200):
        ws.purchases(person, 1, days_ago=40)
        ws.mention(person, 0.6, days_ago=20)
    return compute_components(ws.build())


def test_coverage_spreads_across_friend_groups_where_top_piles_into_one(
    workspace: type[Workspace],
) -> None:
    components = two_friend_groups(workspace)
    prob, value = planned(components, "awareness")
    top = select_advocates(prob, value, components.eligible, 4, "top")
    coverage = select_advocates(prob, value, components.eligible, 4, "coverage")

    assert set(top.indices) <= {0, 1, 2, 3, 4}
    assert set(coverage.indices) >= {5, 6, 7}
    assert coverage.expected_reach > top.expected_reach
    assert top.advocates[1][1] < top.advocates[0][1]  # the second reaches the same people


def test_overlap_is_counted_once_by_hand() -> None:
    # Advocates 0 and 1 each persuade listener 3 with probability 0.5; 2 persuades 4 with 0.6.
    prob = matrix({(0, 3): 0.5, (1, 3): 0.5, (2, 4): 0.6}, 5)
    value = np.array([0.5, 0.5, 0.6, 0.0, 0.0])
    eligible = np.ones(5, dtype=bool)

    assert expected_coverage(prob, [0, 1]) == pytest.approx(1 - 0.5 * 0.5)  # 0.75, not 1.0
    top = select_advocates(prob, value, eligible, 2, "top")
    coverage = select_advocates(prob, value, eligible, 2, "coverage")
    assert top.indices == [2, 0]  # by individual value
    assert coverage.indices == [2, 0]
    three = select_advocates(prob, value, eligible, 3, "coverage")
    assert three.advocates == [(2, pytest.approx(0.6)), (0, 0.5), (1, pytest.approx(0.25))]
    assert three.expected_reach == pytest.approx(0.6 + 0.75)


def test_a_negative_advocate_is_never_selected_however_big_their_audience() -> None:
    # 0 reaches everyone but has a negative expected value (a detractor); 1 reaches one.
    prob = matrix({**{(0, v): 0.9 for v in range(2, 40)}, (1, 2): 0.3}, 40)
    value = np.zeros(40)
    value[0], value[1] = -30.0, 0.3
    eligible = np.ones(40, dtype=bool)  # even if a caller forgot to gate them
    for strategy in ("top", "coverage", "spread"):
        assert select_advocates(prob, value, eligible, 5, strategy).indices == [1], strategy


def test_detractors_are_never_chosen_and_count_zero_as_listeners(
    workspace: type[Workspace],
) -> None:
    ws = workspace(12)
    ws.event(0, "nps", 5, value=10)
    for listener in range(2, 12):
        ws.connect(listener, 0, replies=3, days_ago=1)
    for listener in range(2, 5):
        ws.connect(listener, 1, replies=3, days_ago=1)
    for unhappy in range(5, 12):
        ws.event(unhappy, "nps", 5, value=2)
    ws.event(1, "nps", 5, value=1)
    components = compute_components(ws.build())
    prob, value = planned(components, "awareness")

    assert value[1] < 0 and not components.eligible[1]
    selection = select_advocates(prob, value, components.eligible, 12, "coverage")
    assert selection.indices == [0]
    share = expected_values(components).share[0]
    p = 1 - np.exp(-3 * 0.9962 / 3)  # three replies a day old
    assert selection.expected_reach == pytest.approx(3 * share * p, rel=0.01)


def test_exclude_and_candidates_are_respected(workspace: type[Workspace]) -> None:
    components = two_friend_groups(workspace)
    prob, value = planned(components)
    for strategy in ("top", "coverage", "spread"):
        chosen = select_advocates(
            prob,
            value,
            components.eligible,
            3,
            strategy,
            exclude=[5],
            candidates=[0, 1, 5, 6],
        ).indices
        assert set(chosen) <= {0, 1, 6}, strategy
        assert 6 in chosen and 5 not in chosen, strategy


def random_instance(seed: int, n: int = 60, edges: int = 300) -> tuple[sp.csr_array, np.ndarray]:
    rng = np.random.default_rng(seed)
    pairs = {
        (int(u), int(v)): float(p)
        for u, v, p in zip(
            rng.integers(0, n, edges),
            rng.integers(0, n, edges),
            rng.random(edges) * 0.6,
            strict=True,
        )
        if u != v
    }
    prob = matrix(pairs, n)
    return prob, np.asarray(prob.sum(axis=1)).ravel()


def plain_greedy(prob: sp.csr_array, value: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    """Textbook greedy on f(S): every candidate re-evaluated every round, same tie-break."""
    chosen: list[int] = []
    for _ in range(k):
        base = expected_coverage(prob, chosen)
        best: tuple[float, float, int] | None = None
        for u in np.flatnonzero(allowed & (value > 0)):
            if u in chosen:
                continue
            gain = round(expected_coverage(prob, [*chosen, int(u)]) - base, 12)
            key = (-gain, -float(value[u]), int(u))
            best = key if best is None or key < best else best
        if best is None:
            break
        chosen.append(best[2])
    return chosen


@pytest.mark.parametrize("seed", range(6))
def test_celf_equals_plain_greedy_and_gains_never_increase(seed: int) -> None:
    prob, value = random_instance(seed)
    rng = np.random.default_rng(100 + seed)
    eligible = rng.random(prob.shape[0]) < 0.8

    selection = select_advocates(prob, value, eligible, 12, "coverage")

    assert selection.indices == plain_greedy(prob, value, eligible, 12)
    gains = [gain for _, gain in selection.advocates]
    assert all(a >= b - 1e-12 for a, b in zip(gains, gains[1:], strict=False))
    assert selection.expected_reach == pytest.approx(sum(gains))
    assert selection.expected_reach == pytest.approx(expected_coverage(prob, selection.indices))


@pytest.mark.parametrize("seed", range(4))
def test_objective_is_monotone_and_submodular(seed: int) -> None:
    prob, _ = random_instance(seed, n=20, edges=80)
    rng = np.random.default_rng(seed)
    for _ in range(30):
        small = [int(u) for u in rng.choice(20, 3, replace=False)]
        large = small + [int(u) for u in rng.choice(20, 4, replace=False) if u not in small]
        extra = int(rng.integers(0, 20))
        f_small, f_large = expected_coverage(prob, small), expected_coverage(prob, large)
        assert f_large >= f_small - 1e-12
        gain_small = expected_coverage(prob, [*small, extra]) - f_small
        gain_large = expected_coverage(prob, [*large, extra]) - f_large
        assert gain_small >= gain_large - 1e-12


def test_greedy_is_within_one_minus_one_over_e_of_the_best_set() -> None:
    prob, value = random_instance(11, n=14, edges=50)
    eligible = np.ones(14, dtype=bool)
    chosen = select_advocates(prob, value, eligible, 3, "coverage")
    best = max(expected_coverage(prob, s) for s in combinations(range(14), 3))
    assert chosen.expected_reach >= (1 - 1 / np.e) * best


def test_spread_adds_the_next_hops_with_the_same_probabilities() -> None:
    # A chain 0 -> 1 -> 2 -> 3 with probabilities 0.5, 0.4, 0.2.
    prob = matrix({(0, 1): 0.5, (1, 2): 0.4, (2, 3): 0.2}, 4)
    np.testing.assert_allclose(downstream(prob, 2), [0.5 * 1.4, 0.4 * 1.2, 0.2, 0.0])
    value = np.asarray(prob.sum(axis=1)).ravel()
    eligible = np.array([True, False, False, False])
    spread = select_advocates(prob, value, eligible, 1, "spread", hops=3)
    # 1 acts (0.5), then 2 (0.5 * 0.4), then 3 (0.5 * 0.4 * 0.2).
    assert spread.expected_reach == pytest.approx(0.5 + 0.2 + 0.04)
    one_hop = select_advocates(prob, value, eligible, 1, "spread", hops=1)
    assert one_hop.expected_reach == pytest.approx(
        select_advocates(prob, value, eligible, 1, "coverage").expected_reach
    )


def test_spread_matches_a_monte_carlo_cascade_on_trees() -> None:
    # Three separate random trees of 40 people; the roots are the candidates. On a tree
    # nobody hears twice, so the expected value is exact and simulation must agree.
    rng = np.random.default_rng(3)
    edges = {}
    for root in (0, 40, 80):
        for child in range(root + 1, root + 40):
            edges[(int(rng.integers(root, child)), child)] = float(rng.uniform(0.2, 0.7))
    prob = matrix(edges, 120)
    value = np.asarray(prob.sum(axis=1)).ravel()
    roots = [0, 40, 80]
    seeds = select_advocates(
        prob, value, np.ones(120, dtype=bool), 3, "spread", hops=3, candidates=roots
    )
    assert sorted(seeds.indices) == roots
    simulated = cascade(prob, seeds.indices, hops=3, runs=4000, seed=2)
    assert seeds.expected_reach == pytest.approx(simulated, rel=0.05)


def cascade(prob: sp.csr_array, seeds: list[int], hops: int, runs: int, seed: int) -> float:
    """People who act (the seeds not counted), by simulation of the cascade."""
    rng = np.random.default_rng(seed)
    total = 0
    for _ in range(runs):
        acted, frontier = set(seeds), list(seeds)
        for _ in range(hops):
            nxt = []
            for u in frontier:
                lo, hi = prob.indptr[u], prob.indptr[u + 1]
                live = rng.random(hi - lo) < prob.data[lo:hi]
                for v in prob.indices[lo:hi][live]:
                    if int(v) not in acted:
                        acted.add(int(v))
                        nxt.append(int(v))
            frontier = nxt
        total += len(acted) - len(seeds)
    return total / runs


def test_unknown_strategy_and_negative_k_are_rejected() -> None:
    prob = matrix({}, 5)
    with pytest.raises(ValueError, match="unknown strategy"):
        select_advocates(prob, np.zeros(5), np.ones(5, dtype=bool), 2, "random")
    with pytest.raises(ValueError):
        select_advocates(prob, np.zeros(5), np.ones(5, dtype=bool), -1)
