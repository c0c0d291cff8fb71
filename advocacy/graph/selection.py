"""Choosing k advocates for a campaign: a set problem, not a sort.

Strategies (all pick only eligible customers, never ``exclude``, only ``candidates`` when
given; all deterministic, ties broken by higher score then lower index):

``top``
    The k best scores. Reported gains and reach use the coverage objective below, so staff
    can see how much of a top-k list is the same audience reached twice.

``coverage``
    Maximise the expected number of distinct, non-detractor people reached with a positive
    message in one hop::

        f(S) = sum_v value(v) * (1 - prod_{u in S} (1 - q(u) * p(u, v)))

    ``p(u, v)`` is the reach probability from interaction strength (``network``),
    ``value(v)`` is 0 for detractors and 1 otherwise, and ``q(u)`` an optional per-advocate
    factor in ``[0, 1]`` (e.g. the probability their message is positive; 1 by default).
    ``f`` is a weighted coverage function: monotone and submodular, so greedy selection is
    within ``1 - 1/e`` (~63%) of the best possible set (Nemhauser, Wolsey & Fisher 1978),
    and no polynomial algorithm does better unless P = NP (Feige 1998). Lazy greedy (CELF,
    Leskovec et al. 2007) returns exactly the greedy set: submodularity means a marginal
    gain computed earlier is an upper bound now, so only candidates whose bound could still
    win are re-evaluated. Gains are returned in selection order and never increase.

``spread``
    Multi-hop word of mouth under the independent cascade model with the same ``p``: see
    :mod:`advocacy.graph.spread` (reverse-reachable sets, ``1 - 1/e - epsilon`` w.h.p.).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from advocacy.graph.network import InteractionGraph
from advocacy.graph.scoring import rank_order
from advocacy.graph.spread import SpreadOptions, select_spread

STRATEGIES: tuple[str, ...] = ("top", "coverage", "spread")


@dataclass
class Selection:
    strategy: str
    advocates: list[tuple[int, float]]  # (customer index, marginal gain), selection order
    # Expected distinct non-detractors reached by the whole set: for top and coverage, the
    # listeners reached in one hop; for spread, everyone the cascade reaches, advocates too.
    expected_reach: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def indices(self) -> list[int]:
        return [index for index, _ in self.advocates]


def select_advocates(
    graph: InteractionGraph,
    scores: np.ndarray,
    eligible: np.ndarray,
    k: int,
    strategy: str = "coverage",
    *,
    detractor: np.ndarray | None = None,
    exclude: Iterable[int] = (),
    candidates: Iterable[int] | None = None,
    seed: int = 0,
    quality: np.ndarray | None = None,
    spread_options: SpreadOptions | None = None,
) -> Selection:
    """Pick up to ``k`` advocates (fewer when fewer are allowed).

    ``graph`` is ``Components.graph``; ``detractor`` (``Components.detractor``) marks
    listeners who count 0; ``quality`` scales each advocate's reach probabilities for
    ``coverage`` (see module doc); ``seed`` drives ``spread``'s sampling.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {list(STRATEGIES)}")
    if k < 0:
        raise ValueError("k must be >= 0")
    n = graph.n
    scores = np.asarray(scores, dtype=np.float64)
    allowed = _allowed(n, eligible, exclude, candidates)

    if strategy == "spread":
        blocked = np.zeros(n, dtype=bool) if detractor is None else np.asarray(detractor)
        spread = select_spread(graph.reach_prob, allowed, blocked, k, scores, seed, spread_options)
        return Selection("spread", spread.advocates, spread.expected_reach, spread.details)

    coverage = _Coverage(graph, detractor, quality)
    if strategy == "top":
        order = rank_order(np.where(allowed, scores, -1.0), allowed, top=k)
        chosen = [int(u) for u in order if allowed[u]]
        advocates = [(u, coverage.add(u)) for u in chosen]
    else:
        advocates = _lazy_greedy(coverage, allowed, scores, k)
    return Selection(strategy, advocates, coverage.reached)


def expected_coverage(
    graph: InteractionGraph,
    advocates: Iterable[int],
    detractor: np.ndarray | None = None,
    quality: np.ndarray | None = None,
) -> float:
    """``f(S)`` of the coverage objective for a given set (for checks and comparisons)."""
    coverage = _Coverage(graph, detractor, quality)
    for u in advocates:
        coverage.add(int(u))
    return coverage.reached


class _Coverage:
    """Incremental ``f(S)``: keeps each listener's probability of not being reached yet."""

    def __init__(
        self, graph: InteractionGraph, detractor: np.ndarray | None, quality: np.ndarray | None
    ) -> None:
        n = graph.n
        self.prob = graph.reach_prob
        self.indptr, self.indices, self.p = self.prob.indptr, self.prob.indices, self.prob.data
        self.value = np.ones(n) if detractor is None else np.where(detractor, 0.0, 1.0)
        self.factor = (
            np.ones(n) if quality is None else np.clip(quality, 0.0, 1.0).astype(np.float64)
        )
        self.missed = np.ones(n)
        self.reached = 0.0

    def initial_gains(self) -> np.ndarray:
        return self.factor * (self.prob @ self.value)

    def gain(self, u: int) -> float:
        lo, hi = self.indptr[u], self.indptr[u + 1]
        listeners = self.indices[lo:hi]
        weights = self.value[listeners] * self.missed[listeners]
        return float(self.factor[u] * np.dot(weights, self.p[lo:hi]))

    def add(self, u: int) -> float:
        gain = self.gain(u)
        lo, hi = self.indptr[u], self.indptr[u + 1]
        self.missed[self.indices[lo:hi]] *= 1.0 - self.factor[u] * self.p[lo:hi]
        self.reached += gain
        return gain


def _lazy_greedy(
    coverage: _Coverage, allowed: np.ndarray, scores: np.ndarray, k: int
) -> list[tuple[int, float]]:
    """CELF. Candidates wait in one array sorted by their first-round gain (an upper bound
    on every later gain); only those that get re-evaluated move to a heap, so a million
    candidates cost one sort, not a million heap entries. Keys are
    ``(-gain, -score, index, round evaluated)``, the same tie-break as plain greedy.
    """
    pool = np.flatnonzero(allowed)
    first = coverage.initial_gains()[pool]
    order = np.lexsort((pool, -scores[pool], -first))
    pool, first = pool[order], first[order]

    def waiting(position: int) -> tuple[float, float, int, int]:
        u = int(pool[position])
        # Round -1: a bound from the bulk mat-vec, always re-evaluated before being chosen.
        return (-float(first[position]), -float(scores[u]), u, -1)

    heap: list[tuple[float, float, int, int]] = []
    chosen: list[tuple[int, float]] = []
    position = 0
    while len(chosen) < k:
        if position < pool.size and (not heap or waiting(position) < heap[0]):
            heapq.heappush(heap, waiting(position))
            position += 1
        if not heap:
            break
        _, neg_score, u, evaluated = heap[0]
        if evaluated == len(chosen):
            heapq.heappop(heap)
            chosen.append((u, coverage.add(u)))
        else:
            heapq.heapreplace(heap, (-coverage.gain(u), neg_score, u, len(chosen)))
    return chosen


def _allowed(
    n: int, eligible: np.ndarray, exclude: Iterable[int], candidates: Iterable[int] | None
) -> np.ndarray:
    allowed = np.asarray(eligible, dtype=bool).copy()
    if candidates is not None:
        mask = np.zeros(n, dtype=bool)
        mask[np.fromiter(candidates, dtype=np.int64)] = True
        allowed &= mask
    excluded = np.fromiter(exclude, dtype=np.int64)
    allowed[excluded] = False
    return allowed
