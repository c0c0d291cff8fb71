"""Choosing k advocates for a campaign: one expected-value model, three strategies.

Every strategy works on the activation probabilities of :mod:`advocacy.graph.value`,
``P[u, v] = min(1, q(u) * p(u, v) * w(v))`` (the chance that listener ``v`` acts, by the
objective's meaning of "acts", on a message from advocate ``u``), and only ever picks
customers whose own expected value is positive: a detractor (negative value) or someone
with no audience or no chance to share is never selected.

``top``
    The k highest individual values (``sum_v P[u, v]``), the order of the ranked list.
    Reported gains use the coverage objective below, so staff can see how much of a top-k
    list is the same audience counted twice.

``coverage``
    Maximise the expected number of distinct people who act::

        f(S) = sum_v (1 - prod_{u in S} (1 - P[u, v]))

    A person persuaded by two advocates counts once. ``f`` is a weighted coverage function
    over non-negative probabilities: monotone and submodular, so greedy selection is within
    ``1 - 1/e`` of the best set (Nemhauser, Wolsey & Fisher 1978). Lazy greedy (CELF,
    Leskovec et al. 2007) returns exactly the greedy set: a gain computed earlier is an
    upper bound now, so only candidates whose bound could still win are re-evaluated.

``spread``
    The same objective over more hops with the same probabilities: a listener who acts
    passes the word on as any customer would (their own ``q`` and ties), so each listener
    counts ``1 + D(v)``, where ``D`` is the expected number of further people who act
    within ``hops - 1`` more hops (``D_1 = P (1 + D_0)``, ``D_0 = 0``, computed by sparse
    mat-vecs). Overlap is removed in the first hop, exactly as in ``coverage``; later hops
    are expectations. With weights ``1 + D >= 1`` the objective stays monotone submodular,
    so the same CELF runs. Where nobody passes anything on, ``spread`` equals ``coverage``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from advocacy.graph.scoring import rank_order

STRATEGIES: tuple[str, ...] = ("top", "coverage", "spread")
SPREAD_HOPS = 3


@dataclass
class Selection:
    strategy: str
    advocates: list[tuple[int, float]]  # (customer index, marginal gain), selection order
    # Expected distinct people who act (or are reached, for awareness) thanks to the set:
    # one hop for top and coverage, several for spread.
    expected_reach: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def indices(self) -> list[int]:
        return [index for index, _ in self.advocates]


def select_advocates(
    prob: sp.csr_array,
    value: np.ndarray,
    eligible: np.ndarray,
    k: int,
    strategy: str = "coverage",
    *,
    exclude: Iterable[int] = (),
    candidates: Iterable[int] | None = None,
    hops: int = SPREAD_HOPS,
) -> Selection:
    """Pick up to ``k`` advocates (fewer when fewer have a positive value).

    ``prob`` is :func:`~advocacy.graph.value.edge_probabilities` (row ``u`` = advocate,
    columns = the listeners who may act); ``value`` each customer's own expected value,
    which ranks ``top`` and breaks ties (then the lower index wins).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {list(STRATEGIES)}")
    if k < 0:
        raise ValueError("k must be >= 0")
    if hops < 1:
        raise ValueError("hops must be >= 1")
    n = prob.shape[0]
    value = np.asarray(value, dtype=np.float64)
    allowed = _allowed(n, eligible, exclude, candidates) & (value > 0)

    weight = np.ones(n)
    details: dict[str, Any] = {}
    if strategy == "spread":
        weight = 1.0 + downstream(prob, hops - 1)
        details["hops"] = hops
    coverage = _Coverage(prob, weight)
    if strategy == "top":
        order = rank_order(value, allowed, top=k)
        advocates = [(int(u), coverage.add(int(u))) for u in order if allowed[u]]
    else:
        advocates = _lazy_greedy(coverage, allowed, value, k)
    return Selection(strategy, advocates, coverage.reached, details)


def downstream(prob: sp.csr_array, hops: int) -> np.ndarray:
    """``D(v)``: expected further people who act, within ``hops`` hops, after ``v`` acts."""
    further = np.zeros(prob.shape[0])
    for _ in range(hops):
        further = np.asarray(prob @ (1.0 + further), dtype=np.float64)
    return further


def expected_coverage(
    prob: sp.csr_array, advocates: Iterable[int], weight: np.ndarray | None = None
) -> float:
    """``f(S)`` for a given set (for checks and comparisons)."""
    coverage = _Coverage(prob, np.ones(prob.shape[0]) if weight is None else weight)
    for u in advocates:
        coverage.add(int(u))
    return coverage.reached


class _Coverage:
    """Incremental ``f(S)``: keeps each listener's probability of not having acted yet."""

    def __init__(self, prob: sp.csr_array, weight: np.ndarray) -> None:
        self.prob = prob
        self.indptr, self.indices, self.p = prob.indptr, prob.indices, prob.data
        self.weight = np.asarray(weight, dtype=np.float64)
        self.missed = np.ones(prob.shape[0])
        self.reached = 0.0

    def initial_gains(self) -> np.ndarray:
        return np.asarray(self.prob @ self.weight, dtype=np.float64)

    def gain(self, u: int) -> float:
        lo, hi = self.indptr[u], self.indptr[u + 1]
        listeners = self.indices[lo:hi]
        return float(np.dot(self.weight[listeners] * self.missed[listeners], self.p[lo:hi]))

    def add(self, u: int) -> float:
        gain = self.gain(u)
        lo, hi = self.indptr[u], self.indptr[u + 1]
        self.missed[self.indices[lo:hi]] *= 1.0 - self.p[lo:hi]
        self.reached += gain
        return gain


def _lazy_greedy(
    coverage: _Coverage, allowed: np.ndarray, value: np.ndarray, k: int
) -> list[tuple[int, float]]:
    """CELF. Candidates wait in one array sorted by their first-round gain (an upper bound
    on every later gain); only those that get re-evaluated move to a heap, so a million
    candidates cost one sort, not a million heap entries. Keys are
    ``(-gain, -value, index, round evaluated)``, the same tie-break as plain greedy.
    """
    pool = np.flatnonzero(allowed)
    first = coverage.initial_gains()[pool]
    order = np.lexsort((pool, -value[pool], -first))
    pool, first = pool[order], first[order]

    def waiting(position: int) -> tuple[float, float, int, int]:
        u = int(pool[position])
        # Round -1: a bound from the bulk mat-vec, always re-evaluated before being chosen.
        return (-float(first[position]), -float(value[u]), u, -1)

    heap: list[tuple[float, float, int, int]] = []
    chosen: list[tuple[int, float]] = []
    position = 0
    while len(chosen) < k:
        if position < pool.size and (not heap or waiting(position) < heap[0]):
            heapq.heappush(heap, waiting(position))
            position += 1
        if not heap:
            break
        _, neg_value, u, evaluated = heap[0]
        if evaluated == len(chosen):
            heapq.heappop(heap)
            chosen.append((u, coverage.add(u)))
        else:
            heapq.heapreplace(heap, (-coverage.gain(u), neg_value, u, len(chosen)))
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
