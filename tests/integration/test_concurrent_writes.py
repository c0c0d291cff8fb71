"""Identical writes racing each other: all succeed, one row results (real threads, committed)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from advocacy.customers.models import Customer, EngagementEvent
from advocacy.extensions import db
from advocacy.workspaces import service
from advocacy.workspaces.models import ApiKey, Workspace

THREADS = 8


@pytest.fixture
def committed_key(app: Flask) -> Iterator[tuple[int, str]]:
    """A workspace committed for real (threads cannot share the test transaction)."""
    with app.app_context():
        workspace = service.create_workspace(db.session, name="Race")
        issued = service.create_api_key(
            db.session, workspace_id=workspace.id, name="race", scopes=["admin"]
        )
        db.session.commit()
        workspace_id = workspace.id
    yield workspace_id, issued.secret
    with app.app_context():
        for model in (EngagementEvent, Customer, ApiKey):
            db.session.execute(delete(model).where(model.workspace_id == workspace_id))
        db.session.execute(delete(Workspace).where(Workspace.id == workspace_id))
        db.session.commit()


def _race(app: Flask, key: str, method: str, url: str, body: dict[str, Any]) -> list[int]:
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []

    def worker() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.open(
            url, method=method, json=body, headers={"Authorization": f"Bearer {key}"}
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_identical_concurrent_puts_all_succeed_and_create_one_customer(app, committed_key):
    workspace_id, key = committed_key
    statuses = _race(app, key, "PUT", "/api/v1/customers/racer", {"email": "r@example.com"})
    assert sorted(statuses) == [200] * THREADS
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Customer).where(Customer.workspace_id == workspace_id)
        )
    assert count == 1


def test_identical_concurrent_events_are_stored_once(app, committed_key):
    workspace_id, key = committed_key
    client = app.test_client()
    client.put("/api/v1/customers/racer", json={}, headers={"Authorization": f"Bearer {key}"})
    event = {"kind": "nps", "value": 9, "occurred_at": "2026-01-01T00:00:00Z", "event_id": "e-1"}
    statuses = _race(app, key, "POST", "/api/v1/customers/racer/events", event)
    assert sorted(statuses) == sorted([201] + [200] * (THREADS - 1))
    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(EngagementEvent)
            .where(EngagementEvent.workspace_id == workspace_id)
        )
    assert count == 1
