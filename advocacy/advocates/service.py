"""Ranking a workspace, storing the snapshot, and reading it back with reasons.

``rank_workspace`` is the job (CLI, API, scheduler): read the workspace into arrays,
compute, write one snapshot. Reads always use the workspace's latest snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Float, cast, delete, func, insert, literal, literal_column, select

from advocacy.advocates.loading import load_workspace
from advocacy.advocates.models import INDEXED_RANKS, AdvocateScore, RankingSnapshot
from advocacy.advocates.snapshots import (
    SCORE_COLUMNS,
    copy_binary,
    fact_columns,
    fact_dtypes,
    facts_matrix,
    page_components,
    params_from_dict,
)
from advocacy.customers.models import Customer
from advocacy.errors import NotFound, Unprocessable
from advocacy.graph.components import compute_components
from advocacy.graph.inputs import RankingParams
from advocacy.graph.network import build_interaction_graph
from advocacy.graph.reasons import explain
from advocacy.graph.scoring import (
    COMPONENT_NAMES,
    OBJECTIVE_WEIGHTS,
    rank_order,
    resolve_weights,
    score,
)
from advocacy.graph.selection import select_advocates
from advocacy.graph.sentiment import gate_names
from advocacy.pagination import fetch_rows
from advocacy.types import DbSession, utcnow

OBJECTIVES = tuple(OBJECTIVE_WEIGHTS)
KEEP_SNAPSHOTS = 3
_WRITE_CHUNK = 5_000


def weights_for(objective: str, custom: Mapping[str, float] | None) -> dict[str, float]:
    try:
        return resolve_weights(objective, custom)
    except ValueError as exc:
        raise Unprocessable(
            str(exc), errors={"weights" if custom else "objective": [str(exc)]}
        ) from exc


def rank_workspace(
    session: DbSession,
    *,
    workspace_id: int,
    params: RankingParams | None = None,
    now: float | None = None,
) -> RankingSnapshot:
    """Recompute every customer's components and scores; store them as a new snapshot."""
    started = time.perf_counter()
    params = params or RankingParams()
    now = time.time() if now is None else now
    loaded = load_workspace(session, workspace_id=workspace_id, now=now)
    loaded_at = time.perf_counter()
    components = compute_components(loaded.inp, params)
    computed_at = time.perf_counter()
    scores = {
        objective: score(components, OBJECTIVE_WEIGHTS[objective]) for objective in OBJECTIVES
    }
    ranks = {}
    for objective, values in scores.items():
        order = rank_order(values, components.eligible)
        rank = np.empty(components.n, dtype=np.int64)
        rank[order] = np.arange(1, components.n + 1)
        ranks[objective] = rank
    columns = fact_columns(components)
    version = (
        session.scalar(
            select(func.max(RankingSnapshot.version)).where(
                RankingSnapshot.workspace_id == workspace_id
            )
        )
        or 0
    ) + 1
    snapshot = RankingSnapshot(
        workspace_id=workspace_id,
        version=version,
        computed_at=utcnow(),
        params={
            **params.to_dict(),
            "now": now,
            "fact_names": list(columns),
            "fact_dtypes": fact_dtypes(columns),
        },
        customers=components.n,
        eligible=int(components.eligible.sum()),
        connections=loaded.inp.n_connections,
        duration_ms=0,
        timings={},
    )
    session.add(snapshot)
    session.flush()
    facts = facts_matrix(columns, components.n)
    _write_scores(session, snapshot.id, loaded.customer_ids, components, scores, ranks, facts)
    written_at = time.perf_counter()
    _prune(session, workspace_id)
    snapshot.duration_ms = int((time.perf_counter() - started) * 1000)
    snapshot.timings = {
        "load_s": round(loaded_at - started, 3),
        "compute_s": round(computed_at - loaded_at, 3),
        "write_s": round(written_at - computed_at, 3),
        **{f"{k}_s": round(v, 3) for k, v in components.timings.items()},
    }
    session.flush()
    return snapshot


def _write_scores(
    session: DbSession,
    snapshot_id: int,
    customer_ids: np.ndarray,
    components: Any,
    scores: dict[str, np.ndarray],
    ranks: dict[str, np.ndarray],
    facts: np.ndarray,
) -> None:
    n = components.n
    values: dict[str, np.ndarray] = {
        "snapshot_id": np.full(n, snapshot_id, dtype=np.int64),
        "customer_id": customer_ids,
        **{name: components.component(name) for name in COMPONENT_NAMES},
        **{f"score_{o}": scores[o] for o in OBJECTIVES},
        **{f"rank_{o}": ranks[o] for o in OBJECTIVES},
        "eligible": components.eligible,
        "gate": components.gate.astype(np.int16),
    }
    if session.get_bind().dialect.name == "postgresql":
        names = [name for name, _ in SCORE_COLUMNS] + ["followers", "facts"]
        driver = session.connection().connection.driver_connection
        statement = f"COPY advocate_scores ({', '.join(names)}) FROM STDIN (FORMAT binary)"
        with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for start in range(0, n, _WRITE_CHUNK * 20):
                rows = slice(start, start + _WRITE_CHUNK * 20)
                chunk = {name: column[rows] for name, column in values.items()}
                body = copy_binary(chunk, components.followers[rows], facts[rows])
                # Each chunk carries header and trailer; strip all but the first and last.
                if start:
                    body = body[19:]
                if start + _WRITE_CHUNK * 20 < n:
                    body = body[:-2]
                copy.write(body)
        return
    plain = {name: column.tolist() for name, column in values.items()}
    followers = [None if f < 0 else f for f in components.followers.tolist()]
    fact_lists = facts.tolist()
    table = AdvocateScore.__table__
    for start in range(0, n, _WRITE_CHUNK):
        stop = min(start + _WRITE_CHUNK, n)
        session.execute(
            insert(table),
            [
                {
                    **{name: column[i] for name, column in plain.items()},
                    "followers": followers[i],
                    "facts": fact_lists[i],
                }
                for i in range(start, stop)
            ],
        )


def _prune(session: DbSession, workspace_id: int) -> None:
    """Keep the last few snapshots of a workspace; older ones go, scores first."""
    old = list(
        session.scalars(
            select(RankingSnapshot.id)
            .where(RankingSnapshot.workspace_id == workspace_id)
            .order_by(RankingSnapshot.version.desc())
            .offset(KEEP_SNAPSHOTS)
        )
    )
    if old:
        session.execute(delete(AdvocateScore).where(AdvocateScore.snapshot_id.in_(old)))
        session.execute(delete(RankingSnapshot).where(RankingSnapshot.id.in_(old)))


def latest_snapshot(session: DbSession, *, workspace_id: int) -> RankingSnapshot:
    snapshot = session.scalar(
        select(RankingSnapshot)
        .where(RankingSnapshot.workspace_id == workspace_id)
        .order_by(RankingSnapshot.version.desc())
        .limit(1)
    )
    if snapshot is None:
        raise NotFound("No ranking yet for this workspace: POST /api/v1/advocates/rank first.")
    return snapshot


@dataclass
class AdvocateView:
    """One customer's ranking, explained, as the API returns it."""

    external_id: str
    rank: int
    score: float
    eligible: bool
    gates: list[str]
    components: dict[str, float]
    weights: dict[str, float]
    reasons: list[str]
    followers: int | None


def _score_expression(weights: Mapping[str, float]) -> Any:
    total: Any = literal(0.0)
    for name, weight in weights.items():
        if weight:
            total = total + cast(getattr(AdvocateScore, name), Float) * weight
    return total


def _ranked_query(
    snapshot: RankingSnapshot, objective: str, custom: bool, weights: Mapping[str, float]
) -> Any:
    """(AdvocateScore, external_id, score, rank) rows of the snapshot, in rank order."""
    if not custom:
        score_col = getattr(AdvocateScore, f"score_{objective}")
        rank_col = getattr(AdvocateScore, f"rank_{objective}")
        return (
            select(
                AdvocateScore,
                Customer.external_id,
                score_col.label("score"),
                rank_col.label("rank"),
            )
            .join(Customer, Customer.id == AdvocateScore.customer_id)
            .where(AdvocateScore.snapshot_id == snapshot.id, Customer.erased_at.is_(None))
        ), rank_col
    expression = _score_expression(weights)
    ranked = (
        select(
            AdvocateScore.customer_id.label("cid"),
            expression.label("score"),
            func.row_number()
            .over(
                order_by=(
                    AdvocateScore.eligible.desc(),
                    expression.desc(),
                    AdvocateScore.customer_id,
                )
            )
            .label("rank"),
        )
        .where(AdvocateScore.snapshot_id == snapshot.id)
        .subquery()
    )
    return (
        select(AdvocateScore, Customer.external_id, ranked.c.score, ranked.c.rank)
        .join(ranked, ranked.c.cid == AdvocateScore.customer_id)
        .join(Customer, Customer.id == AdvocateScore.customer_id)
        .where(AdvocateScore.snapshot_id == snapshot.id, Customer.erased_at.is_(None))
    ), ranked.c.rank


def _views(
    snapshot: RankingSnapshot, rows: Sequence[Any], weights: Mapping[str, float]
) -> list[AdvocateView]:
    if not rows:
        return []
    params = params_from_dict(snapshot.params)
    now = float(snapshot.params.get("now", time.time()))
    mini = page_components(
        [r[0] for r in rows],
        params,
        now,
        snapshot.params.get("fact_names", []),
        snapshot.params.get("fact_dtypes", {}),
    )
    views = []
    for i, (entry, external_id, value, rank) in enumerate(rows):
        views.append(
            AdvocateView(
                external_id=external_id,
                rank=int(rank),
                score=round(float(value), 6),
                eligible=entry.eligible,
                gates=gate_names(entry.gate),
                components={
                    name: round(float(getattr(entry, name)), 6) for name in COMPONENT_NAMES
                },
                weights={k: round(v, 6) for k, v in weights.items()},
                reasons=explain(mini, i, weights, now=now),
                followers=entry.followers,
            )
        )
    return views


def list_advocates(
    session: DbSession,
    *,
    workspace_id: int,
    objective: str,
    weights: Mapping[str, float] | None = None,
    eligible: bool | None = None,
    limit: int = 50,
    cursor: int | None = None,
) -> tuple[RankingSnapshot, list[AdvocateView], int | None]:
    """The ranked list of the latest snapshot; the cursor is the last rank seen."""
    snapshot = latest_snapshot(session, workspace_id=workspace_id)
    resolved = weights_for(objective, weights)
    query, rank_col = _ranked_query(snapshot, objective, weights is not None, resolved)
    if eligible is not None:
        query = query.where(AdvocateScore.eligible.is_(eligible))
    if cursor is not None:
        query = query.where(rank_col > cursor)
    if (cursor or 0) + limit < INDEXED_RANKS:
        # A literal bound lets the planner use the partial index on the top ranks.
        query = query.where(rank_col <= literal_column(str(INDEXED_RANKS)))
    rows, more = fetch_rows(session, query.order_by(rank_col), limit=limit, scalars=False)
    next_cursor = int(rows[-1][3]) if more else None
    return snapshot, _views(snapshot, rows, resolved), next_cursor


def get_advocate(
    session: DbSession,
    *,
    workspace_id: int,
    external_id: str,
    objective: str,
    weights: Mapping[str, float] | None = None,
) -> tuple[RankingSnapshot, AdvocateView]:
    snapshot = latest_snapshot(session, workspace_id=workspace_id)
    resolved = weights_for(objective, weights)
    query, _ = _ranked_query(snapshot, objective, weights is not None, resolved)
    row = session.execute(query.where(Customer.external_id == external_id)).first()
    if row is None:
        raise NotFound(f"No customer {external_id!r} in the latest ranking of this workspace.")
    return snapshot, _views(snapshot, [row], resolved)[0]


@dataclass
class SelectionView:
    snapshot: RankingSnapshot
    strategy: str
    objective: str
    weights: dict[str, float]
    advocates: list[dict[str, Any]]
    expected_reach: float
    details: dict[str, Any]


def select_for_campaign(
    session: DbSession,
    *,
    workspace_id: int,
    k: int,
    objective: str,
    strategy: str,
    weights: Mapping[str, float] | None = None,
    exclude: Iterable[str] = (),
    candidates: Iterable[str] | None = None,
    seed: int = 0,
) -> SelectionView:
    """Choose k advocates from the latest snapshot over the current interaction graph."""
    snapshot = latest_snapshot(session, workspace_id=workspace_id)
    resolved = weights_for(objective, weights)
    rows = session.execute(
        select(
            AdvocateScore.customer_id,
            AdvocateScore.eligible,
            AdvocateScore.gate,
            *(getattr(AdvocateScore, c) for c in COMPONENT_NAMES),
        ).where(AdvocateScore.snapshot_id == snapshot.id)
    ).all()
    loaded = load_workspace(
        session,
        workspace_id=workspace_id,
        now=float(snapshot.params.get("now", time.time())),
        with_signals=False,
    )
    ids = loaded.customer_ids
    position = {int(cid): i for i, cid in enumerate(ids.tolist())}
    n = ids.size
    scores = np.zeros(n)
    eligible = np.zeros(n, dtype=bool)
    detractor = np.zeros(n, dtype=bool)
    for row in rows:
        i = position.get(row.customer_id)
        if i is None:
            continue  # erased since the snapshot
        scores[i] = sum(resolved[c] * getattr(row, c) for c in COMPONENT_NAMES)
        eligible[i] = row.eligible
        detractor[i] = row.gate != 0
    external = dict(
        session.execute(
            select(Customer.id, Customer.external_id).where(
                Customer.workspace_id == workspace_id, Customer.erased_at.is_(None)
            )
        )
        .tuples()
        .all()
    )
    by_external = {
        external[int(cid)]: i for i, cid in enumerate(ids.tolist()) if int(cid) in external
    }
    unknown = [e for e in [*exclude, *(candidates or [])] if e not in by_external]
    if unknown:
        raise Unprocessable(
            "Unknown customers in exclude or candidates.",
            errors={"customers": [f"Unknown customer {e!r}." for e in unknown[:20]]},
        )
    graph = build_interaction_graph(loaded.inp, params_from_dict(snapshot.params))
    selection = select_advocates(
        graph,
        scores,
        eligible,
        k,
        strategy,
        detractor=detractor,
        exclude=[by_external[e] for e in exclude],
        candidates=None if candidates is None else [by_external[e] for e in candidates],
        seed=seed,
    )
    advocates = [
        {
            "external_id": external[int(ids[i])],
            "position": position_ + 1,
            "score": round(float(scores[i]), 6),
            "marginal_gain": round(float(gain), 4),
        }
        for position_, (i, gain) in enumerate(selection.advocates)
    ]
    return SelectionView(
        snapshot=snapshot,
        strategy=strategy,
        objective=objective,
        weights=resolved,
        advocates=advocates,
        expected_reach=round(float(selection.expected_reach), 4),
        details={
            k: v for k, v in selection.details.items() if isinstance(v, int | float | str | bool)
        },
    )
