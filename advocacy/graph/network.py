"""The interaction graph: connection rows aggregated into weighted sparse matrices.

Tie strength of one connection row (source ``v`` interacts with target ``u``)::

    strength = (1.0 replies + 1.5 shares + 1.0 messages + 0.25 likes)
               * 2 ** (-age of last interaction / interaction half-life)
               + 0.1 follows

(weights in ``RankingParams.interaction_weights``; a tie whose last interaction time is
unknown is decayed as if one half-life old). A follow does not age: it keeps delivering
posts until it is undone, whenever anyone last replied. A tie whose tone is below
``negative_tone_below`` carries *distrust* of that strength instead of trust; unknown tone
counts as trust, since attention is the default meaning of an interaction. Rows for the
same pair on several channels are summed; self-ties are dropped.

All matrices are ``scipy.sparse.csr_array`` in the *listened-to* orientation: row ``u`` (the
target) lists the people ``v`` who interact with ``u``. That is the transposed adjacency of
the directed graph, which is exactly what PageRank's ``x <- M^T x`` and reach both need.

Reach probability: advocate ``u``'s message reaches listener ``v`` with
``p(u, v) = 1 - exp(-trust strength / reach_strength_scale)``: one recent reply ~0.28,
five ~0.81, a bare follow ~0.03. Distrusting listeners are not counted as reached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from advocacy.graph.inputs import RankingInput, RankingParams
from advocacy.graph.timeutil import decay


@dataclass
class InteractionGraph:
    n: int
    trust: sp.csr_array  # [u, v] = trust strength of v's tie to u (v listens to u)
    distrust: sp.csr_array  # [u, v] = distrust strength of v's tie to u
    reach_prob: sp.csr_array  # same pattern as trust, data = p(u, v)
    listeners: np.ndarray  # int32, distinct people with a trusting *interaction* (not a follow)
    repliers: np.ndarray  # int32, of whom reply
    sharers: np.ndarray  # int32, of whom share
    follow_only: np.ndarray  # int32, trusting ties that are follows without interaction
    distrusters: np.ndarray  # int32, distinct people whose tie to u carries distrust
    expected_reach: np.ndarray  # float64, sum of p(u, v) over distinct listeners


# Bits of the per-pair interaction flags, OR-ed across a pair's channels.
_INTERACTS, _REPLIES, _SHARES, _FOLLOWS = 1, 2, 4, 8


def build_interaction_graph(inp: RankingInput, params: RankingParams) -> InteractionGraph:
    n = inp.n
    columns = {
        name: getattr(inp, name)
        for name in (
            "c_source",
            "c_target",
            "c_replies",
            "c_likes",
            "c_shares",
            "c_messages",
            "c_follows",
            "c_sentiment",
            "c_last_time",
        )
    }
    self_tie = columns["c_source"] == columns["c_target"]
    if self_tie.any():  # talking to yourself is not influence
        columns = {name: values[~self_tie] for name, values in columns.items()}
    source, target = columns["c_source"], columns["c_target"]
    replies, likes = columns["c_replies"], columns["c_likes"]
    shares, messages = columns["c_shares"], columns["c_messages"]
    follows = columns["c_follows"]

    w = params.interaction_weights
    strength = w.get("replies", 0.0) * replies + w.get("shares", 0.0) * shares
    strength += w.get("messages", 0.0) * messages
    strength += w.get("likes", 0.0) * likes
    last_time = columns["c_last_time"]
    known = np.isfinite(last_time)
    age_factor = np.full(source.size, params.unknown_interaction_decay)
    age_factor[known] = decay(last_time[known], inp.now, params.interaction_half_life_days)
    strength *= age_factor
    del age_factor
    # A follow is a standing subscription: it delivers posts until it is undone, however
    # long ago anyone last replied, so only the interactions age.
    strength += w.get("follows", 0.0) * follows
    # NaN tone compares False: unknown tone is trust.
    negative = columns["c_sentiment"] < params.negative_tone_below

    interacts = (replies > 0) | (likes > 0) | (shares > 0) | (messages > 0)
    flags = interacts.astype(np.uint8) * _INTERACTS
    flags |= (replies > 0).astype(np.uint8) * _REPLIES
    flags |= (shares > 0).astype(np.uint8) * _SHARES
    flags |= follows.astype(np.uint8) * _FOLLOWS
    # Aggregate per (target, source) pair, sorted, so the CSR is canonical and pairs distinct.
    row, col, sums = _sum_by_pair(
        target,
        source,
        n,
        {"trust": np.where(negative, 0.0, strength), "distrust": np.where(negative, strength, 0.0)},
        flags,
    )
    trusting = sums["trust"] > 0
    distrusting = sums["distrust"] > 0
    pair_flags = sums["flags"]
    interacting = trusting & ((pair_flags & _INTERACTS) > 0)

    trust = _csr(row[trusting], col[trusting], sums["trust"][trusting], n)
    distrust = _csr(row[distrusting], col[distrusting], sums["distrust"][distrusting], n)
    prob = -np.expm1(-trust.data / params.reach_strength_scale)
    reach_prob = sp.csr_array((prob, trust.indices, trust.indptr), shape=(n, n))

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(row[mask], minlength=n).astype(np.int32)

    return InteractionGraph(
        n=n,
        trust=trust,
        distrust=distrust,
        reach_prob=reach_prob,
        listeners=count(interacting),
        repliers=count(interacting & ((pair_flags & _REPLIES) > 0)),
        sharers=count(interacting & ((pair_flags & _SHARES) > 0)),
        follow_only=count(trusting & ~interacting & ((pair_flags & _FOLLOWS) > 0)),
        distrusters=count(distrusting),
        expected_reach=np.bincount(row[trusting], weights=prob, minlength=n),
    )


def _sum_by_pair(
    row: np.ndarray, col: np.ndarray, n: int, columns: dict[str, np.ndarray], flags: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Distinct (row, col) pairs in sorted order, each column summed and flags OR-ed per pair."""
    if row.size == 0:
        empty = np.empty(0, dtype=np.int32)
        sums = {name: np.empty(0) for name in columns}
        sums["flags"] = np.empty(0, dtype=np.uint8)
        return empty, empty, sums
    key = row.astype(np.int64) * n
    key += col
    order = np.argsort(key)
    key = key[order]
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    pair_key = key[starts]
    del key
    sums = {name: np.add.reduceat(values[order], starts) for name, values in columns.items()}
    sums["flags"] = np.bitwise_or.reduceat(flags[order], starts)
    pair_row, pair_col = np.divmod(pair_key, n)
    return pair_row.astype(np.int32), pair_col.astype(np.int32), sums


def _csr(row: np.ndarray, col: np.ndarray, data: np.ndarray, n: int) -> sp.csr_array:
    """CSR from pairs already sorted by (row, col) and distinct: no conversion pass needed."""
    index_dtype = np.int32 if data.size < np.iinfo(np.int32).max else np.int64
    indptr = np.zeros(n + 1, dtype=index_dtype)
    np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
    return sp.csr_array(
        (data.astype(np.float64, copy=False), col.astype(index_dtype, copy=False), indptr),
        shape=(n, n),
    )
