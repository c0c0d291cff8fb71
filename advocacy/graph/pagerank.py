"""Weighted PageRank by power iteration on a sparse matrix, matching ``networkx.pagerank``.

Same model as networkx with its defaults (uniform teleport, dangling nodes' mass spread
uniformly, weights row-normalised per source): ``x <- alpha * (M^T x + d/n) + (1 - alpha)/n``
where ``d`` is the mass sitting on dangling nodes (no out-weight). The one deliberate
difference is the stopping rule: networkx stops when the L1 change is below ``n * tol``,
which at a million nodes allows an error as large as the whole distribution; here the L1
change itself must fall below ``tol``. An optional ``attention_floor`` (off by default, so
the networkx oracle applies) lets weak ties carry only part of a vote.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class PageRankResult:
    scores: np.ndarray  # float64, sums to 1
    iterations: int
    converged: bool
    residual: float  # L1 change in the last iteration
    transition: sp.csr_array  # M^T in the listened-to orientation (row = target)
    out_weight: np.ndarray  # float64, each node's total out-weight


def pagerank_listened_to(
    listened_to: sp.csr_array,
    alpha: float = 0.85,
    tol: float = 1e-9,
    max_iter: int = 300,
    attention_floor: float = 0.0,
) -> PageRankResult:
    """PageRank of a graph given in the listened-to orientation.

    ``listened_to[v, u]`` is the weight of the edge ``u -> v`` (``u`` links to, follows or
    replies to ``v``), i.e. the transposed adjacency. Rows index targets, so one CSR
    mat-vec per iteration moves the mass. Weights must be non-negative.

    ``attention_floor`` (0 = networkx's model): a node whose out-weight is below the floor
    passes on only ``out_weight / floor`` of its vote along its edges; the rest is spread
    uniformly, as a dangling node's is. Plain PageRank row-normalises, so someone who only
    follows one account would hand it a full vote, as much as a close friend who replies
    every day; with a floor, weak ties carry weak votes.
    """
    n = listened_to.shape[0]
    if n == 0:
        empty = np.empty(0)
        return PageRankResult(empty, 0, True, 0.0, listened_to, empty)
    indices = listened_to.indices
    data = np.asarray(listened_to.data, dtype=np.float64)
    out_weight = np.bincount(indices, weights=data, minlength=n)
    normaliser = np.maximum(out_weight, attention_floor)
    # Share of each node's vote that is not passed along its edges (1 for dangling nodes).
    leak = np.where(
        normaliser > 0, 1.0 - out_weight / np.where(normaliser > 0, normaliser, 1.0), 1.0
    )
    leaky = np.flatnonzero(leak > 0)
    leak = leak[leaky]
    # Sources of stored entries have normaliser > 0 unless every weight is 0, in which
    # case the entry contributes nothing either way.
    source_norm = normaliser[indices]
    safe = np.where(source_norm > 0, source_norm, 1.0)
    transition = sp.csr_array((data / safe, indices, listened_to.indptr), shape=(n, n))

    x = np.full(n, 1.0 / n)
    teleport = (1.0 - alpha) / n
    residual = np.inf
    for iteration in range(1, max_iter + 1):
        spread = alpha * float(np.dot(leak, x[leaky])) / n
        new = alpha * (transition @ x)
        new += spread + teleport
        residual = float(np.abs(new - x).sum())
        x = new
        if residual < tol:
            return PageRankResult(x, iteration, True, residual, transition, out_weight)
    return PageRankResult(x, max_iter, False, residual, transition, out_weight)


def pagerank(
    adjacency: sp.csr_array | sp.csr_matrix,
    alpha: float = 0.85,
    tol: float = 1e-9,
    max_iter: int = 300,
) -> np.ndarray:
    """PageRank of ``adjacency[u, v]`` = weight of ``u -> v`` (networkx's orientation)."""
    listened_to = sp.csr_array(adjacency).T.tocsr()
    return pagerank_listened_to(listened_to, alpha=alpha, tol=tol, max_iter=max_iter).scores
