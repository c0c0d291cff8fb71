"""Selection without loading the whole interaction graph: ``top`` and ``coverage`` from the
snapshot's values and the ties of a few hundred candidates.

Both strategies only ever need the rows of ``P`` (each advocate's listeners and the chance
they act) of the advocates they look at. ``top`` takes the k highest values, which the
snapshot holds. ``coverage`` is lazy greedy (CELF), which only re-evaluates an advocate
whose upper bound could still win; an advocate's value is such a bound (``sum_v P[u, v]``
with each term clipped at 1, the gain before anyone else is chosen, and gains only shrink).
So the candidates are read from the snapshot in value order, a pool of the first ``m``
gets its ties loaded, and greedy runs on the pool: when the last gain chosen beats the value
of the best advocate left outside, no one outside could have been chosen at any step, and
the set is exactly the one greedy over everyone picks. Otherwise the pool doubles.

The values are the snapshot's, the ties the current ones. If a pool member's gain exceeds
its value, ties changed since the snapshot and the values are no bound: the caller falls
back to the whole graph (``None``), as it does for ``spread``, whose weights need every
path of a few hops.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import and_, literal_column, select

from advocacy.advocates.loading import connection_positions, fetch_connections
from advocacy.advocates.models import INDEXED_RANKS, AdvocateScore, RankingSnapshot
from advocacy.advocates.snapshots import params_from_dict
from advocacy.customers.models import Customer
from advocacy.graph.inputs import RankingInput
from advocacy.graph.network import build_interaction_graph
from advocacy.graph.scoring import COMPONENT_NAMES
from advocacy.graph.selection import Selection, select_advocates
from advocacy.graph.value import custom_tilt, edge_probabilities, listener_weights_from
from advocacy.queries import id_in
from advocacy.types import DbSession

STRATEGIES = ("top", "coverage")
FIRST_POOL = 64
LARGEST_POOL = 16_384
SLACK = 1e-9  # relative: a value and the gain summed edge by edge differ in the last bits


@dataclass
class Pool:
    ids: np.ndarray  # customer ids in value order (value desc, id asc)
    share: np.ndarray
    value: np.ndarray
    bound_outside: float | None  # value of the best candidate left out; None: none left


def select_from_snapshot(
    session: DbSession,
    snapshot: RankingSnapshot,
    *,
    k: int,
    objective: str,
    strategy: str,
    weights: Mapping[str, float] | None,
    exclude: set[int],
    candidates: set[int] | None,
    excluded: Sequence[Any] = (),
) -> tuple[Selection, np.ndarray, np.ndarray] | None:
    """The selection, the customer ids its indices refer to and their values; None when the
    snapshot's values cannot stand in for the graph (another strategy, ties changed, an old
    snapshot)."""
    if strategy not in STRATEGIES or k < 1:
        return None
    # ``top`` needs its k only; coverage usually settles within a few times k.
    size = k if strategy == "top" else max(FIRST_POOL, 4 * k)
    while True:
        pool = _pool(session, snapshot, objective, weights, (exclude, excluded), candidates, size)
        if pool is None:
            return None
        chosen = _select(session, snapshot, objective, pool, k, strategy)
        if chosen is None:
            return None
        selection = chosen[0]
        gains = [gain for _, gain in selection.advocates]
        if pool.bound_outside is None or strategy == "top":
            return chosen
        if len(gains) == k and pool.bound_outside * (1 + SLACK) < gains[-1]:
            return chosen
        if size >= LARGEST_POOL:
            return None
        size *= 2


def _pool(
    session: DbSession,
    snapshot: RankingSnapshot,
    objective: str,
    weights: Mapping[str, float] | None,
    left_out: tuple[set[int], Sequence[Any]],
    candidates: set[int] | None,
    size: int,
) -> Pool | None:
    """The first ``size`` candidates by value (eligible, positive value, not excluded), and
    the value of the next one."""
    score = getattr(AdvocateScore, f"score_{objective}")
    components = [getattr(AdvocateScore, name) for name in COMPONENT_NAMES]
    query = (
        select(AdvocateScore.customer_id, AdvocateScore.share_probability, score, *components)
        .join(Customer, Customer.id == AdvocateScore.customer_id)
        .where(
            AdvocateScore.snapshot_id == snapshot.id,
            AdvocateScore.eligible.is_(True),
            score > 0,
            Customer.erased_at.is_(None),
        )
    )
    exclude, excluded = left_out
    for ids_query in excluded:
        query = query.where(AdvocateScore.customer_id.not_in(ids_query))
    if candidates is not None:
        query = query.where(id_in(session, AdvocateScore.customer_id, sorted(candidates)))
    wanted = size + 1 + len(exclude)
    if weights is None:
        rows = _first_by_rank(session, query, getattr(AdvocateScore, f"rank_{objective}"), wanted)
    else:
        tilt: Any = 0.0
        for column, name in zip(components, COMPONENT_NAMES, strict=True):
            if weights.get(name):
                tilt = tilt + column * (weights[name] / 0.5)
        order = ((score * tilt).desc(), AdvocateScore.customer_id)
        rows = list(session.execute(query.order_by(*order).limit(wanted)))
    rows = [row for row in rows if row[0] not in exclude]
    if any(row[1] is None for row in rows):
        return None  # predates the value model: the full path says so
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    share = np.array([row[1] for row in rows], dtype=np.float64)
    value = np.array([row[2] for row in rows], dtype=np.float64)
    if weights is not None:
        by_name = {
            name: np.array([row[3 + j] for row in rows], dtype=np.float64)
            for j, name in enumerate(COMPONENT_NAMES)
        }
        tilted = custom_tilt(by_name, dict(weights))
        share, value = np.minimum(share * tilted, 1.0), value * tilted
        keep = value > 0
        order_ = np.lexsort((ids[keep], -value[keep]))
        ids, share, value = ids[keep][order_], share[keep][order_], value[keep][order_]
    outside = float(value[size]) if ids.size > size else None
    return Pool(ids[:size], share[:size], value[:size], outside)


def _first_by_rank(session: DbSession, query: Any, rank: Any, wanted: int) -> list[Any]:
    """The first ``wanted`` rows in rank order, which among eligible customers is value
    order with ties by customer id (``scoring.rank_order``). Looked for among the indexed
    top ranks first (a literal bound, so the planner uses the partial index)."""
    bounded = query.where(rank <= literal_column(str(INDEXED_RANKS)))
    rows = list(session.execute(bounded.order_by(rank).limit(wanted)))
    if len(rows) < wanted:
        rows = list(session.execute(query.order_by(rank).limit(wanted)))
    return rows


def _select(
    session: DbSession,
    snapshot: RankingSnapshot,
    objective: str,
    pool: Pool,
    k: int,
    strategy: str,
) -> tuple[Selection, np.ndarray, np.ndarray] | None:
    """Greedy on the pool over its current ties; None when a gain beats its value."""
    dialect = session.get_bind().dialect.name
    ws = snapshot.workspace_id
    if dialect == "postgresql":
        where = "WHERE workspace_id = %(ws)s AND target_id = ANY(%(targets)s)"
        params: dict[str, Any] = {"ws": ws, "targets": pool.ids.tolist()}
    else:
        where = "WHERE workspace_id = :ws AND target_id IN (SELECT value FROM json_each(:targets))"
        params = {"ws": ws, "targets": json.dumps(pool.ids.tolist())}
    rows = fetch_connections(session, dialect, f"FROM connections {where}", params)
    ids, sentiment, gate = _listeners(
        session, ws, snapshot.id, np.union1d(pool.ids, rows["source"])
    )
    n = ids.size
    at = np.searchsorted(ids, pool.ids)
    share, value = np.zeros(n), np.zeros(n)
    share[at], value[at] = pool.share, pool.value
    now = float(snapshot.params.get("now", time.time()))
    inp = RankingInput(n=n, now=now, **connection_positions(ids, rows))
    graph = build_interaction_graph(inp, params_from_dict(snapshot.params))
    listeners = listener_weights_from(sentiment, gate != 0, objective)
    prob = edge_probabilities(graph.reach_prob, share, listeners)
    first = np.asarray(prob @ np.ones(n), dtype=np.float64)[at]
    if np.any(first > pool.value * (1 + SLACK) + 1e-12):
        return None
    eligible = np.zeros(n, dtype=bool)
    eligible[at] = True
    return select_advocates(prob, value, eligible, k, strategy), ids, value


def _listeners(
    session: DbSession, workspace_id: int, snapshot_id: int, ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Those of ``ids`` (sorted) that are customers of the workspace, not erased, with the
    snapshot's sentiment component and gate of each (zeros for customers the snapshot does
    not have, as the whole-graph path aligns them)."""
    rows = session.execute(
        select(Customer.id, AdvocateScore.sentiment, AdvocateScore.gate)
        .outerjoin(
            AdvocateScore,
            and_(
                AdvocateScore.snapshot_id == snapshot_id,
                AdvocateScore.customer_id == Customer.id,
            ),
        )
        .where(
            Customer.workspace_id == workspace_id,
            Customer.erased_at.is_(None),
            id_in(session, Customer.id, ids.tolist()),
        )
        .order_by(Customer.id)
    ).all()
    alive = np.array([row[0] for row in rows], dtype=np.int64)
    sentiment = np.array([row[1] or 0.0 for row in rows], dtype=np.float64)
    gate = np.array([row[2] or 0 for row in rows], dtype=np.int16)
    return alive, sentiment, gate
