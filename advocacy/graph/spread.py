"""Multi-hop selection: influence maximisation with reverse-reachable (RR) sets.

Model: independent cascade (Kempe, Kleinberg & Tardos 2003). A chosen advocate ``u``
passes the message to each listener ``v`` with probability ``p(u, v)`` (the reach
probability of ``network``), and every newly reached person passes it on the same way, for
at most ``max_hops`` hops (word of mouth fades; the cap also bounds the work). Detractors
neither count nor pass a positive message on. ``sigma(S)`` = expected number of
non-detractors reached, the advocates themselves included.

Method: an RR set is everyone who would have reached a random non-detractor root ``r`` in
one random "live-edge" draw (Borgs et al. 2014): walk backwards from ``r`` keeping each edge
with its probability. ``sigma(S) = N * Pr[S meets a random RR set]``, with ``N`` the number
of non-detractors, so choosing S is max-coverage over sampled RR sets, and greedy
max-coverage is a ``1 - 1/e`` approximation of that. IMM (Tang, Shi & Xiao 2015) says how
many RR sets make the result a ``1 - 1/e - epsilon`` approximation of the best possible
``sigma`` with probability ``1 - N^-ell``: a first phase estimates a lower bound on the
optimum, the second samples ``theta`` sets. As Chen (2018) pointed out, the second phase must
use fresh sets, which we do. ``max_rr_sets`` caps ``theta`` and ``max_rr_entries`` the
pairs held, so a huge workspace stays interactive and within memory; when a cap binds,
``details["capped"]`` says so and the guarantee is weaker (the estimate stays unbiased).

RR sets are generated breadth-first for a whole batch of roots at once with numpy (one
array of (set, node) pairs per hop), never one Python loop per set. Same seed, same sets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class SpreadOptions:
    epsilon: float = 0.5
    ell: float = 1.0
    max_hops: int = 3
    max_rr_sets: int = 1_000_000
    max_rr_entries: int = 20_000_000  # (set, node) pairs held at once, ~12 bytes each
    batch_size: int = 100_000

    def __post_init__(self) -> None:
        if not 0 < self.epsilon < 1:
            raise ValueError("epsilon must be in (0, 1)")
        limits = (self.max_hops, self.max_rr_sets, self.max_rr_entries, self.batch_size)
        if self.ell <= 0 or min(limits) < 1:
            raise ValueError("ell and every limit must be positive")


@dataclass
class SpreadResult:
    advocates: list[tuple[int, float]]
    expected_reach: float
    details: dict[str, Any]


def select_spread(
    reach_prob: sp.csr_array,
    allowed: np.ndarray,
    blocked: np.ndarray,
    k: int,
    scores: np.ndarray,
    seed: int = 0,
    options: SpreadOptions | None = None,
) -> SpreadResult:
    """IMM over ``reach_prob[u, v] = p(u, v)``; seeds only from ``allowed``."""
    options = options or SpreadOptions()
    n = reach_prob.shape[0]
    roots = np.flatnonzero(~blocked)
    population = roots.size
    k = min(k, int(np.count_nonzero(allowed)))
    if k <= 0 or population == 0:
        return SpreadResult([], 0.0, {"rr_sets": 0, "capped": False})
    sampler = _RRSampler(reach_prob, blocked, roots, options, np.random.default_rng(seed))

    # Phase 1 (IMM Algorithm 2): find a lower bound LB on the optimal spread.
    eps, ell = options.epsilon, options.ell * (1 + math.log(2) / math.log(max(population, 2)))
    log_n = math.log(max(population, 2))
    log_choose = _log_binomial(population, k)
    eps_prime = math.sqrt(2) * eps
    lambda_prime = (
        (2 + 2 * eps_prime / 3)
        * (log_choose + ell * log_n + math.log(max(math.log2(max(population, 2)), 1.0)))
        * population
        / eps_prime**2
    )
    lower_bound = 1.0
    capped = False
    rounds = max(1, int(math.log2(max(population, 2))) - 1)
    for i in range(1, rounds + 1):
        x = population / 2**i
        theta_i = math.ceil(lambda_prime / x)
        if theta_i > options.max_rr_sets:
            capped = True
            theta_i = options.max_rr_sets
        sets = sampler.sample(theta_i)
        _, covered = _max_coverage(sets, n, allowed, scores, k)
        estimate = population * covered / sets.count
        if sampler.exhausted:
            capped = True
        if estimate >= (1 + eps_prime) * x or theta_i == options.max_rr_sets or capped:
            lower_bound = max(estimate / (1 + eps_prime), 1.0)
            break

    # Phase 2: theta fresh RR sets, then greedy max-coverage on them.
    alpha = math.sqrt(ell * log_n + math.log(2))
    beta = math.sqrt((1 - 1 / math.e) * (log_choose + ell * log_n + math.log(2)))
    lambda_star = 2 * population * ((1 - 1 / math.e) * alpha + beta) ** 2 / eps**2
    theta = math.ceil(lambda_star / lower_bound)
    if theta > options.max_rr_sets:
        capped = True
        theta = options.max_rr_sets
    sampler.reset()
    sets = sampler.sample(theta)
    capped = capped or sampler.exhausted
    picks, covered = _max_coverage(sets, n, allowed, scores, k)
    scale = population / sets.count
    advocates = [(u, gain * scale) for u, gain in picks]
    details = {
        "rr_sets": sets.count,
        "rr_entries": int(sets.nodes.size),
        "capped": capped,
        "epsilon": eps,
        "max_hops": options.max_hops,
        "lower_bound": lower_bound,
    }
    return SpreadResult(advocates, covered * scale, details)


@dataclass
class _RRSets:
    """``count`` sets stored as (set id, node) pairs sorted by set id."""

    count: int
    set_ids: np.ndarray  # int64
    nodes: np.ndarray  # int32


# Work limits that keep memory flat whatever the graph: in-edges examined per vectorised
# step, and (set, node) pairs gathered per batch of roots.
_EXPANSION_CHUNK = 4_000_000
_PAIRS_PER_BATCH = 2_000_000


class _RRSampler:
    """Generates RR sets in batches, accumulating them so IMM's phase 1 can grow its sample.

    Batches adapt to the graph: the first is small, later ones aim at ``_PAIRS_PER_BATCH``
    pairs given the sets' observed size. Sampling stops early once ``max_rr_entries`` pairs
    are held (``exhausted``), which bounds memory and time on graphs where word of mouth
    would reach almost everyone.
    """

    def __init__(
        self,
        reach_prob: sp.csr_array,
        blocked: np.ndarray,
        roots: np.ndarray,
        options: SpreadOptions,
        rng: np.random.Generator,
    ) -> None:
        # Row v of the reverse graph lists who can reach v; detractors relay nothing.
        reverse = sp.csr_array(reach_prob.T)
        reverse.data = np.where(blocked[reverse.indices], 0.0, reverse.data)
        reverse.eliminate_zeros()
        self.indptr = reverse.indptr.astype(np.int64)
        self.indices = reverse.indices
        # float32 draws and probabilities halve the memory traffic of the hot loop.
        self.prob = reverse.data.astype(np.float32)
        self.n = reach_prob.shape[0]
        self.roots = roots
        self.options = options
        self.rng = rng
        self.reset()

    def reset(self) -> None:
        self._ids: list[np.ndarray] = []
        self._nodes: list[np.ndarray] = []
        self._count = 0
        self._entries = 0
        self._batch_size = min(self.options.batch_size, 10_000)
        self.exhausted = False

    def sample(self, total: int) -> _RRSets:
        while self._count < total:
            if self._entries >= self.options.max_rr_entries:
                self.exhausted = True
                break
            batch = min(self._batch_size, total - self._count)
            set_ids, nodes = self._batch(batch)
            self._ids.append(set_ids + self._count)
            self._nodes.append(nodes)
            self._count += batch
            self._entries += nodes.size
            per_set = max(nodes.size / batch, 1.0)
            self._batch_size = int(
                min(max(_PAIRS_PER_BATCH / per_set, 1_000), self.options.batch_size)
            )
        if not self._ids:
            empty = np.empty(0, dtype=np.int64)
            return _RRSets(0, empty, empty.astype(np.int32))
        return _RRSets(self._count, np.concatenate(self._ids), np.concatenate(self._nodes))

    def _batch(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        n = self.n
        start_nodes = self.roots[self.rng.integers(0, self.roots.size, size)]
        visited = np.arange(size, dtype=np.int64) * n + start_nodes  # key = set * n + node
        frontier_set = np.arange(size, dtype=np.int64)
        frontier_node = start_nodes.astype(np.int64)
        for _ in range(self.options.max_hops):
            keys = self._expand(frontier_set, frontier_node)
            where = np.searchsorted(visited, keys)
            seen = where < visited.size
            seen[seen] = visited[where[seen]] == keys[seen]
            keys = keys[~seen]
            if keys.size == 0:
                break
            # Two sorted, disjoint runs: the stable sort (timsort) merges them in linear time.
            visited = np.sort(np.concatenate([visited, keys]), kind="stable")
            frontier_set, frontier_node = np.divmod(keys, n)
        set_ids, nodes = np.divmod(visited, n)
        return set_ids, nodes.astype(np.int32)

    def _expand(self, frontier_set: np.ndarray, frontier_node: np.ndarray) -> np.ndarray:
        """Sorted distinct keys ``set * n + u`` for every live in-edge ``u -> frontier node``."""
        lo_all = self.indptr[frontier_node]
        lengths_all = self.indptr[frontier_node + 1] - lo_all
        ends = np.cumsum(lengths_all)
        total = int(ends[-1]) if ends.size else 0
        # Frontier slices whose in-edges number about _EXPANSION_CHUNK each.
        cuts = np.searchsorted(ends, np.arange(_EXPANSION_CHUNK, total, _EXPANSION_CHUNK))
        bounds = np.unique(np.concatenate(([0], cuts + 1, [frontier_node.size])))
        found = []
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            lo, lengths = lo_all[a:b], lengths_all[a:b]
            count = int(lengths.sum())
            if count == 0:
                continue
            # Positions of every in-edge of every frontier node, without a Python loop.
            offsets = np.cumsum(lengths) - lengths
            edge = np.repeat(lo - offsets, lengths) + np.arange(count)
            live = self.rng.random(count, dtype=np.float32) < self.prob[edge]
            owner = np.repeat(frontier_set[a:b], lengths)[live]
            found.append(owner * self.n + self.indices[edge[live]])
        if not found:
            return np.empty(0, dtype=np.int64)
        return _sorted_unique(np.concatenate(found))


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    # np.unique's hash-based path is far slower than sorting for these int64 keys.
    keys = np.sort(keys)
    if keys.size < 2:
        return keys
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))]


def _max_coverage(
    sets: _RRSets, n: int, allowed: np.ndarray, scores: np.ndarray, k: int
) -> tuple[list[tuple[int, int]], int]:
    """Greedy max-coverage: ``k`` allowed nodes covering most sets; (node, newly covered).

    The sets containing a chosen node are found by one scan of the pairs rather than a
    node-major index: for k up to a few hundred, k linear scans cost less than sorting.
    """
    nodes = sets.nodes
    set_ptr = np.zeros(sets.count + 1, dtype=np.int64)
    np.cumsum(np.bincount(sets.set_ids, minlength=sets.count), out=set_ptr[1:])
    count = np.bincount(nodes, minlength=n).astype(np.int64)
    available = np.asarray(allowed, dtype=bool).copy()
    covered = np.zeros(sets.count, dtype=bool)
    picks: list[tuple[int, int]] = []
    total = 0
    while len(picks) < k and available.any():
        masked = np.where(available, count, -1)
        best = int(masked.max())
        if best <= 0:
            # Nothing left to cover: fill up by score, highest first.
            rest = np.flatnonzero(available)
            rest = rest[np.lexsort((rest, -scores[rest]))][: k - len(picks)]
            picks.extend((int(u), 0) for u in rest)
            break
        tied = np.flatnonzero(masked == best)
        u = int(tied[np.lexsort((tied, -scores[tied]))[0]])
        available[u] = False
        hit = sets.set_ids[nodes == u]
        new = hit[~covered[hit]]
        covered[new] = True
        if new.size:
            lo = set_ptr[new]
            lengths = set_ptr[new + 1] - lo
            offsets = np.cumsum(lengths) - lengths
            members = nodes[np.repeat(lo - offsets, lengths) + np.arange(int(lengths.sum()))]
            count -= np.bincount(members, minlength=n)
        picks.append((u, int(new.size)))
        total += int(new.size)
    return picks, total


def _log_binomial(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
