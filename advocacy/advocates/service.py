"""Reading the ranking back: the ranked list with reasons, one advocate, a selection of k.

The job that computes snapshots is :mod:`advocacy.advocates.ranking` (``rank_workspace``,
re-exported here). Reads always use the workspace's latest snapshot and never refit the
value model.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Float, cast, func, literal, literal_column, select

from advocacy.advocates.loading import load_workspace
from advocacy.advocates.models import INDEXED_RANKS, AdvocateScore, RankingSnapshot
from advocacy.advocates.ranking import rank_workspace
from advocacy.advocates.selecting import select_from_snapshot
from advocacy.advocates.snapshots import page_components, params_from_dict
from advocacy.customers.models import Customer
from advocacy.errors import NotFound, Unprocessable, found
from advocacy.graph.network import build_interaction_graph
from advocacy.graph.reasons import explain
from advocacy.graph.scoring import COMPONENT_NAMES, OBJECTIVE_WEIGHTS, resolve_weights
from advocacy.graph.selection import Selection, select_advocates
from advocacy.graph.sentiment import gate_names
from advocacy.graph.value import custom_tilt, edge_probabilities, listener_weights_from
from advocacy.pagination import fetch_rows
from advocacy.types import DbSession

OBJECTIVES = tuple(OBJECTIVE_WEIGHTS)
__all__ = ["OBJECTIVES", "rank_workspace"]


def weights_for(objective: str, custom: Mapping[str, float] | None) -> dict[str, float]:
    try:
        return resolve_weights(objective, custom)
    except ValueError as exc:
        raise Unprocessable(
            str(exc), errors={"weights" if custom else "objective": [str(exc)]}
        ) from exc


def latest_snapshot(session: DbSession, *, workspace_id: int) -> RankingSnapshot:
    snapshot = session.scalar(
        select(RankingSnapshot)
        .where(RankingSnapshot.workspace_id == workspace_id)
        .order_by(RankingSnapshot.version.desc())
        .limit(1)
    )
    return found(snapshot, "No ranking yet for this workspace: POST /api/v1/advocates/rank first.")


@dataclass
class AdvocateView:
    """One customer's ranking, explained, as the API returns it."""

    external_id: str
    rank: int
    score: float
    expected_people: float
    share_probability: float | None
    eligible: bool
    gates: list[str]
    components: dict[str, float]
    weights: dict[str, float]
    reasons: list[str]
    followers: int | None


def _score_expression(objective: str, weights: Mapping[str, float]) -> Any:
    """Custom weights tilt the objective's expected value (see ``value.custom_tilt``)."""
    tilt: Any = literal(0.0)
    for name, weight in weights.items():
        if weight:
            tilt = tilt + cast(getattr(AdvocateScore, name), Float) * (weight / 0.5)
    return getattr(AdvocateScore, f"score_{objective}") * tilt


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
    expression = _score_expression(objective, weights)
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


_ACTS = {
    "awareness": "would hear a positive word from them",
    "consideration": "would consider the brand on their word",
    "conversion": "would act on their word",
}


def value_reason(people: float, objective: str) -> str:
    """The expected-value reason: what asking them would bring (or cost)."""
    if people < 0:
        return f"would put off about {_people(-people)}"
    if people < 0.05:
        return f"nobody {_ACTS[objective]} yet"
    return f"about {_people(people)} {_ACTS[objective]}"


def _people(count: float) -> str:
    shown = f"{count:.1f}" if count < 10 else f"{round(count):,}"
    return f"{shown} {'person' if shown == '1.0' else 'people'}"


def _views(
    snapshot: RankingSnapshot, rows: Sequence[Any], objective: str, weights: Mapping[str, float]
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
        people = float(getattr(entry, f"score_{objective}"))
        reasons = explain(mini, i, weights, now=now)
        gated = [r for r in reasons if r.startswith("gated")]
        reasons = [*gated, value_reason(people, objective), *reasons[len(gated) :]][:4]
        share = entry.share_probability
        views.append(
            AdvocateView(
                external_id=external_id,
                rank=int(rank),
                score=round(float(value), 6),
                expected_people=round(people, 4),
                share_probability=None if share is None else round(float(share), 4),
                eligible=entry.eligible,
                gates=gate_names(entry.gate),
                components={
                    name: round(float(getattr(entry, name)), 6) for name in COMPONENT_NAMES
                },
                weights={k: round(v, 6) for k, v in weights.items()},
                reasons=reasons,
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
    return snapshot, _views(snapshot, rows, objective, resolved), next_cursor


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
    return snapshot, _views(snapshot, [row], objective, resolved)[0]


@dataclass
class SelectionView:
    snapshot: RankingSnapshot
    strategy: str
    objective: str
    weights: dict[str, float]
    advocates: list[dict[str, Any]]
    expected_reach: float
    details: dict[str, Any]

    @property
    def expected_people(self) -> float:
        return self.expected_reach


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
    seed: int = 0,  # kept for callers; every strategy is deterministic now
    excluded: Sequence[Any] = (),
) -> SelectionView:
    """Choose k advocates from the latest snapshot over the current interaction graph
    (``top`` and ``coverage`` look only at the ties of the candidates they need, see
    :mod:`advocacy.advocates.selecting`). ``excluded``: SELECTs of customer ids left out
    too (those who may not be contacted, say), so they never travel through Python."""
    snapshot = latest_snapshot(session, workspace_id=workspace_id)
    resolved = weights_for(objective, weights)
    exclude, candidates = list(exclude), None if candidates is None else list(candidates)
    fast = _select_from_snapshot(
        session,
        snapshot,
        k=k,
        objective=objective,
        strategy=strategy,
        resolved=resolved,
        custom=weights is not None,
        exclude=exclude,
        candidates=candidates,
        excluded=excluded,
    )
    if fast is not None:
        return fast
    rows = _selection_rows(session, snapshot, objective)
    loaded = load_workspace(
        session,
        workspace_id=workspace_id,
        now=float(snapshot.params.get("now", time.time())),
        with_signals=False,
    )
    ids = loaded.customer_ids
    eligible, gate, share, value, components = _aligned_columns(rows, ids)
    if weights is not None:
        tilt = custom_tilt(components, resolved)
        share, value = np.minimum(share * tilt, 1.0), value * tilt
    external, by_external = _external_positions(
        session, workspace_id, ids, [*exclude, *(candidates or [])]
    )
    left_out = [by_external[e] for e in exclude]
    for query in excluded:
        found = np.array(session.scalars(query).all(), dtype=np.int64)
        at = np.searchsorted(ids, found).clip(0, max(ids.size - 1, 0))
        left_out += at[ids[at] == found].tolist() if ids.size else []
    graph = build_interaction_graph(loaded.inp, params_from_dict(snapshot.params))
    listeners = listener_weights_from(components["sentiment"], gate != 0, objective)
    selection = select_advocates(
        edge_probabilities(graph.reach_prob, share, listeners),
        value,
        eligible,
        k,
        strategy,
        exclude=left_out,
        candidates=None if candidates is None else [by_external[e] for e in candidates],
    )
    advocates = [
        _pick(position, external[int(ids[i])], float(value[i]), float(gain))
        for position, (i, gain) in enumerate(selection.advocates)
    ]
    return _view(snapshot, strategy, objective, resolved, advocates, selection)


def _view(
    snapshot: RankingSnapshot,
    strategy: str,
    objective: str,
    resolved: dict[str, float],
    advocates: list[dict[str, Any]],
    selection: Selection,
) -> SelectionView:
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


def _pick(position: int, external_id: str, value: float, gain: float) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "position": position + 1,
        "score": round(value, 6),
        "expected_people": round(value, 4),
        "marginal_gain": round(gain, 4),
    }


def _select_from_snapshot(
    session: DbSession,
    snapshot: RankingSnapshot,
    *,
    k: int,
    objective: str,
    strategy: str,
    resolved: dict[str, float],
    custom: bool,
    exclude: list[str],
    candidates: list[str] | None,
    excluded: Sequence[Any],
) -> SelectionView | None:
    """The selection from the snapshot's values and the candidates' ties, or None."""
    named = _customer_ids(session, snapshot.workspace_id, [*exclude, *(candidates or [])])
    excluded_ids = {named[e] for e in exclude}
    among = None if candidates is None else {named[e] for e in candidates}
    found = select_from_snapshot(
        session,
        snapshot,
        k=k,
        objective=objective,
        strategy=strategy,
        weights=resolved if custom else None,
        exclude=excluded_ids,
        candidates=among,
        excluded=excluded,
    )
    if found is None:
        return None
    selection, ids, value = found
    chosen = [int(ids[i]) for i in selection.indices]
    external = dict(
        session.execute(select(Customer.id, Customer.external_id).where(Customer.id.in_(chosen)))
        .tuples()
        .all()
    )
    advocates = [
        _pick(position, external[int(ids[i])], float(value[i]), float(gain))
        for position, (i, gain) in enumerate(selection.advocates)
    ]
    return _view(snapshot, strategy, objective, resolved, advocates, selection)


def _customer_ids(session: DbSession, workspace_id: int, named: list[str]) -> dict[str, int]:
    """External id -> customer id of the named customers; every one must be known (and
    not erased), as the whole-graph path requires."""
    if not named:
        return {}
    found = dict(
        session.execute(
            select(Customer.external_id, Customer.id).where(
                Customer.workspace_id == workspace_id,
                Customer.erased_at.is_(None),
                Customer.external_id.in_(sorted(set(named))),
            )
        )
        .tuples()
        .all()
    )
    unknown = [e for e in named if e not in found]
    if unknown:
        raise Unprocessable(
            "Unknown customers in exclude or candidates.",
            errors={"customers": [f"Unknown customer {e!r}." for e in unknown[:20]]},
        )
    return found


def _selection_rows(session: DbSession, snapshot: RankingSnapshot, objective: str) -> list[Any]:
    """(customer, eligible, gate, share probability, value, components...) of the snapshot."""
    value_col = getattr(AdvocateScore, f"score_{objective}")
    rows = session.execute(
        select(
            AdvocateScore.customer_id,
            AdvocateScore.eligible,
            AdvocateScore.gate,
            AdvocateScore.share_probability,
            value_col,
            *(getattr(AdvocateScore, c) for c in COMPONENT_NAMES),
        ).where(AdvocateScore.snapshot_id == snapshot.id)
    ).all()
    if any(row.share_probability is None for row in rows):
        raise Unprocessable(
            "The latest ranking predates the expected-value model: rank again first.",
            errors={"snapshot": ["POST /api/v1/advocates/rank, then select."]},
        )
    return list(rows)


def _aligned_columns(
    rows: Sequence[Any], ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The snapshot's columns aligned on the loaded customer ids (eligible, gate, share,
    value, components); customers erased since the snapshot drop out."""
    n = ids.size
    stored = np.array([row[0] for row in rows], dtype=np.int64)
    index = np.searchsorted(ids, stored).clip(0, max(n - 1, 0))
    present = (ids[index] == stored) if n else np.zeros(stored.size, dtype=bool)
    index = index[present]

    def column(position: int, dtype: Any = np.float64) -> np.ndarray:
        out = np.zeros(n, dtype=dtype)
        out[index] = np.array([row[position] for row in rows], dtype=dtype)[present]
        return out

    components = {name: column(5 + j) for j, name in enumerate(COMPONENT_NAMES)}
    return column(1, bool), column(2, np.int16), column(3), column(4), components


def _external_positions(
    session: DbSession, workspace_id: int, ids: np.ndarray, named: list[str]
) -> tuple[dict[int, str], dict[str, int]]:
    """Customer id -> external id, and external id -> position in ``ids``; every named
    external id (exclude, candidates) must be known."""
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
    unknown = [e for e in named if e not in by_external]
    if unknown:
        raise Unprocessable(
            "Unknown customers in exclude or candidates.",
            errors={"customers": [f"Unknown customer {e!r}." for e in unknown[:20]]},
        )
    return external, by_external
