"""Selection from the snapshot's values (``advocates.selecting``) picks exactly what greedy
over the whole interaction graph picks, and falls back to the graph when ties changed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from advocacy.advocates import selecting, service
from advocacy.customers.models import Connection, Customer
from advocacy.types import utcnow


def _both(session: Any, monkeypatch: pytest.MonkeyPatch, **query: Any) -> tuple[Any, Any]:
    fast = service.select_for_campaign(session, **query)
    with monkeypatch.context() as patched:
        patched.setattr(service, "select_from_snapshot", lambda *a, **kw: None)
        whole = service.select_for_campaign(session, **query)
    return fast, whole


@pytest.mark.parametrize("strategy", ["top", "coverage"])
@pytest.mark.parametrize("k", [1, 7, 40])
@pytest.mark.parametrize("first_pool", [1, 64])
def test_the_same_advocates_and_gains_as_the_whole_graph(
    demo: Any, session: Any, monkeypatch: pytest.MonkeyPatch, strategy: str, k: int, first_pool: int
) -> None:
    monkeypatch.setattr(selecting, "FIRST_POOL", first_pool)  # 1: the pool has to grow
    calls: list[Any] = []
    real = selecting.select_from_snapshot
    monkeypatch.setattr(
        service, "select_from_snapshot", lambda *a, **kw: calls.append(real(*a, **kw)) or calls[-1]
    )
    query = {"workspace_id": demo.id, "k": k, "objective": "conversion", "strategy": strategy}
    fast, whole = _both(session, monkeypatch, **query)
    assert calls and calls[0] is not None, "the snapshot's values were used"
    assert fast.advocates == whole.advocates and fast.advocates
    assert fast.expected_reach == whole.expected_reach


def test_custom_weights_and_candidates_agree_too(
    demo: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = service.select_for_campaign(
        session, workspace_id=demo.id, k=30, objective="awareness", strategy="top"
    )
    candidates = [a["external_id"] for a in top.advocates[::2]]
    weights = {"engagement": 1.0, "sentiment": 2.0, "track_record": 1.0}
    fast, whole = _both(
        session,
        monkeypatch,
        workspace_id=demo.id,
        k=8,
        objective="awareness",
        strategy="coverage",
        weights=weights,
        candidates=candidates,
    )
    assert fast.advocates == whole.advocates


def test_a_tie_strengthened_since_the_snapshot_sends_it_to_the_whole_graph(
    demo: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = {"workspace_id": demo.id, "k": 5, "objective": "conversion", "strategy": "coverage"}
    first = service.select_for_campaign(session, **query)
    chosen = first.advocates[0]["external_id"]
    ties = session.scalars(
        select(Connection).where(
            Connection.workspace_id == demo.id,
            Connection.target_id == select_customer_id(session, demo.id, chosen),
        )
    ).all()
    for tie in ties:
        tie.replies, tie.shares, tie.last_interaction_at = 500, 500, utcnow()
    session.flush()
    calls: list[Any] = []
    real = selecting.select_from_snapshot
    monkeypatch.setattr(
        service, "select_from_snapshot", lambda *a, **kw: calls.append(real(*a, **kw)) or calls[-1]
    )
    fast, whole = _both(session, monkeypatch, **query)
    assert calls == [None], "the snapshot's values no longer bound the gains"
    assert fast.advocates == whole.advocates


def select_customer_id(session: Any, workspace_id: int, external_id: str) -> int:
    return int(
        session.scalar(
            select(Customer.id).where(
                Customer.workspace_id == workspace_id, Customer.external_id == external_id
            )
        )
    )
