"""The ranking job: read a workspace and its invitation history, rank, store a snapshot.

``rank_workspace`` runs from the CLI (``flask rank``) and ``POST /api/v1/advocates/rank``;
it is the only place the value model is (re)fitted. Reads never fit anything.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select

from advocacy.advocates.loading import load_history, load_workspace
from advocacy.advocates.models import AdvocateScore, RankingSnapshot
from advocacy.advocates.snapshots import (
    SCORE_COLUMNS,
    copy_binary,
    fact_columns,
    fact_dtypes,
    facts_matrix,
)
from advocacy.graph.inputs import RankingParams
from advocacy.graph.scoring import COMPONENT_NAMES
from advocacy.graph.targeting import Ranking, rank_customers
from advocacy.graph.value import LISTENER_OBJECTIVES
from advocacy.types import DbSession, utcnow

KEEP_SNAPSHOTS = 3
_WRITE_CHUNK = 5_000


def rank_workspace(
    session: DbSession,
    *,
    workspace_id: int,
    params: RankingParams | None = None,
    now: float | None = None,
) -> RankingSnapshot:
    """Recompute every customer's components and expected values; store a new snapshot."""
    started = time.perf_counter()
    params = params or RankingParams()
    now = time.time() if now is None else now
    loaded = load_workspace(session, workspace_id=workspace_id, now=now)
    past = load_history(
        session, workspace_id=workspace_id, customer_ids=loaded.customer_ids, now=now
    )
    inp = loaded.inp
    inp.tr_invites, inp.tr_clicks, inp.tr_conversions = past.invites, past.clicks, past.conversions
    loaded_at = time.perf_counter()
    ranking = rank_customers(inp, params, past.history)
    components = ranking.components
    computed_at = time.perf_counter()
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
        model={**ranking.model.to_dict(), "fit": ranking.report},
        customers=components.n,
        eligible=int(components.eligible.sum()),
        connections=inp.n_connections,
        duration_ms=0,
        timings={},
    )
    session.add(snapshot)
    session.flush()
    facts = facts_matrix(columns, components.n)
    _write_scores(session, snapshot.id, loaded.customer_ids, ranking, facts)
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
    ranking: Ranking,
    facts: np.ndarray,
) -> None:
    components = ranking.components
    n = components.n
    values: dict[str, np.ndarray] = {
        "snapshot_id": np.full(n, snapshot_id, dtype=np.int64),
        "customer_id": customer_ids,
        **{name: components.component(name) for name in COMPONENT_NAMES},
        **{f"score_{o}": ranking.values.value[o] for o in LISTENER_OBJECTIVES},
        **{f"rank_{o}": ranking.ranks[o] for o in LISTENER_OBJECTIVES},
        "share_probability": ranking.values.share,
        "eligible": components.eligible,
        "gate": components.gate.astype(np.int16),
    }
    if session.get_bind().dialect.name == "postgresql":
        _copy_scores(session, values, components.followers, facts)
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


def _copy_scores(
    session: DbSession, values: dict[str, np.ndarray], followers: np.ndarray, facts: np.ndarray
) -> None:
    n = facts.shape[0]
    names = [name for name, _ in SCORE_COLUMNS] + ["followers", "facts"]
    driver: Any = session.connection().connection.driver_connection
    statement = f"COPY advocate_scores ({', '.join(names)}) FROM STDIN (FORMAT binary)"
    step = _WRITE_CHUNK * 20
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for start in range(0, n, step):
            rows = slice(start, start + step)
            chunk = {name: column[rows] for name, column in values.items()}
            body = copy_binary(chunk, followers[rows], facts[rows])
            # Each chunk carries header and trailer; strip all but the first and last.
            if start:
                body = body[19:]
            if start + step < n:
                body = body[:-2]
            copy.write(body)


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
