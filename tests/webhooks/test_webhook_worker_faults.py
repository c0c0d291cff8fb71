"""The webhook worker under the faults issue #12 found: a deleted subscription's backlog,
a TLS context per attempt, events older than the subscription, DNS in the API request."""

from __future__ import annotations

import os
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from advocacy.types import utcnow
from advocacy.webhooks import delivery
from advocacy.webhooks.models import OutboxEvent, WebhookDelivery, WebhookSubscription
from advocacy.webhooks.service import DomainEvent, dispatch_events, emit_events
from advocacy.worker import WorkerSettings, deliver_due
from tests.servers import ROOT, free_port

PUBLIC = "https://93.184.216.34/hooks/advocacy"
SETTINGS = WorkerSettings(
    max_attempts=3,
    retry_base_seconds=30,
    timeout_seconds=5,
    allow_private=False,
    idempotency_ttl=timedelta(hours=24),
)


class Sent(list[str]):
    """A sender that records the URLs it was asked to post to, and succeeds."""

    def __call__(self, url: str, body: bytes, headers: dict[str, str], **_: Any) -> Any:
        self.append(url)
        return delivery.Outcome(True, 204)


def _subscribe(api: Any, url: str = PUBLIC) -> int:
    response = api.post("/api/v1/webhooks", json={"url": url})
    assert response.status_code == 201, response.json
    return int(response.json["id"])


def _backlog(session: Any, workspace_id: int, subscription_id: int, count: int, at: Any) -> None:
    """``count`` events already fanned out, each with a pending delivery due since ``at``."""
    for _ in range(count):
        event = OutboxEvent(
            workspace_id=workspace_id,
            msg_id=f"msg_{subscription_id}_{_}_{at.timestamp()}",
            type="reward.created",
            payload={},
            created_at=at,
            dispatched_at=at,
        )
        session.add(event)
        session.flush()
        session.add(
            WebhookDelivery(
                workspace_id=workspace_id,
                event_id=event.id,
                subscription_id=subscription_id,
                state="pending",
                attempts=0,
                next_attempt_at=at,
                created_at=at,
                updated_at=at,
            )
        )
    session.flush()


def _states(session: Any, subscription_id: int) -> list[tuple[str, str | None]]:
    return sorted(
        (d.state, d.last_error)
        for d in session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
        )
    )


def test_a_deleted_subscriptions_backlog_does_not_starve_the_others(session, api, workspace):
    gone, live = _subscribe(api, PUBLIC + "/gone"), _subscribe(api)
    now = utcnow()
    _backlog(session, workspace.id, gone, 120, now - timedelta(minutes=5))  # due first
    _backlog(session, workspace.id, live, 3, now)
    # Deleted behind the API's back: a backlog left by an older version, or a race.
    session.execute(
        update(WebhookSubscription).where(WebhookSubscription.id == gone).values(deleted_at=now)
    )
    sent = Sent()

    report = deliver_due(
        session, settings=SETTINGS, send=sent, clock=lambda: now + timedelta(seconds=1)
    )

    assert (report.delivered, sent) == (3, [PUBLIC] * 3)
    assert _states(session, gone) == [("dead", "subscription deleted")] * 120


def test_deleting_a_subscription_ends_its_pending_deliveries_at_once(session, api, workspace):
    subscription = _subscribe(api)
    _backlog(session, workspace.id, subscription, 3, utcnow())

    assert api.delete(f"/api/v1/webhooks/{subscription}").status_code == 204

    assert _states(session, subscription) == [("dead", "subscription deleted")] * 3


def test_events_from_before_a_subscription_are_not_delivered_to_it(session, api, workspace):
    now = utcnow()
    emit_events(
        session,
        events=[DomainEvent(workspace.id, "reward.created", {"n": 1})],
        now=now - timedelta(minutes=1),
    )
    subscription = _subscribe(api)
    emit_events(
        session, events=[DomainEvent(workspace.id, "reward.created", {"n": 2})], now=utcnow()
    )

    dispatch_events(session, now=utcnow())

    delivered = session.scalars(
        select(OutboxEvent.payload)
        .join(WebhookDelivery, WebhookDelivery.event_id == OutboxEvent.id)
        .where(WebhookDelivery.subscription_id == subscription)
    ).all()
    assert delivered == [{"n": 2}]


def test_attempts_share_one_tls_context(monkeypatch):
    built = []
    create = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(1)
        return create(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    delivery._tls_context.cache_clear()
    port = free_port()
    for _ in range(5):  # refused connections, as a receiver that is down
        outcome = delivery.send(
            f"https://127.0.0.1:{port}/hook", b"{}", {}, timeout=1, allow_private=True
        )
        assert not outcome.ok

    assert len(built) <= 1
    delivery._tls_context.cache_clear()


@pytest.fixture
def no_dns(monkeypatch):
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"DNS lookup in the request: {args[0]!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_registering_a_name_does_not_resolve_it(api, workspace, no_dns):
    response = api.post("/api/v1/webhooks", json={"url": "https://hooks.shop.example/advocacy"})

    assert response.status_code == 201, response.json


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/hook",  # 127.0.0.1 as one number
        "https://0x7f.1/hook",
        "https://127.1/hook",
        "https://10.0.0.8/hook",
        "https://[::127.0.0.1]/hook",
        "https://localhost./hook",
        "https://admin.localhost/hook",
    ],
)
def test_addresses_and_loopback_names_are_still_refused_at_registration(
    api, workspace, no_dns, url
):
    response = api.post("/api/v1/webhooks", json={"url": url})

    assert response.status_code == 422
    assert "url" in response.json["errors"]


def test_a_name_that_resolves_to_a_private_address_is_refused_at_delivery(monkeypatch):
    def private(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.8", port))]

    monkeypatch.setattr(socket, "getaddrinfo", private)

    outcome = delivery.send("https://hooks.shop.example/x", b"{}", {}, timeout=1)

    assert not outcome.ok
    assert "non-public" in (outcome.error or "")


def test_the_worker_writes_each_line_at_once_when_redirected_to_a_file(tmp_path):
    # Its own SQLite database (the worker would fan out every test's committed events).
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.sqlite3'}"}
    flask = [sys.executable, "-m", "flask", "--app", "advocacy"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    with sqlite3.connect(tmp_path / "worker.sqlite3") as db:
        db.execute("INSERT INTO workspaces (name, created_at) VALUES ('w', '2026-01-01')")
        db.execute(
            "INSERT INTO outbox_events (workspace_id, msg_id, type, payload, created_at) "
            "VALUES (1, 'msg_1', 'reward.created', '{}', '2026-01-01')"
        )
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [*flask, "worker", "--interval", "0.5"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while "dispatched 1" not in log.read_text() and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()
            time.sleep(0.2)
        assert "dispatched 1" in log.read_text()  # while it runs, not at exit
        assert worker.poll() is None
    finally:
        worker.terminate()
        worker.wait(timeout=30)
