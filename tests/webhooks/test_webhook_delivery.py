"""The outbox delivered by the worker to a real local receiver that verifies with the
standardwebhooks package: signatures, stable ids, retries, dead letters, replay."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from advocacy.types import utcnow
from advocacy.webhooks.models import OutboxEvent, WebhookDelivery
from advocacy.worker import WorkerSettings, deliver_due, run_cycle
from tests.rewards.helpers import click, purchase, report, start_program
from tests.webhooks.receiver import receiver


@pytest.fixture
def local_targets(app, monkeypatch):
    """Let the test's receiver on 127.0.0.1 be a target (never set in production)."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", True)


@pytest.fixture
def hook(api, workspace, local_targets):
    with receiver() as target:
        created = api.post("/api/v1/webhooks", json={"url": target.url})
        assert created.status_code == 201, created.json
        target.secret = created.json["secret"]
        target.subscription_id = created.json["id"]  # type: ignore[attr-defined]
        yield target


def _settings(**changes):
    values = {
        "max_attempts": 3,
        "retry_base_seconds": 30,
        "timeout_seconds": 5,
        "allow_private": True,
        "idempotency_ttl": timedelta(hours=24),
    }
    values.update(changes)
    return WorkerSettings(**values)


def _convert(session, client, api, workspace):
    program = start_program(session, api, workspace.id, hold_days=0)
    cookies = click(client, program.token)
    response = report(api, purchase(ref=program.token, visitor_id=cookies["adv_vid"]))
    assert response.status_code == 201


def test_deliveries_verify_with_the_standardwebhooks_library(session, client, api, workspace, hook):
    _convert(session, client, api, workspace)
    report_ = run_cycle(session, settings=_settings())
    assert report_.delivered == 5
    assert len(hook.received) == 5
    assert all(r.verified for r in hook.received), [r.error for r in hook.received]
    types = sorted(json.loads(r.body)["type"] for r in hook.received)
    assert types == [
        "referral.attributed",
        "reward.approved",
        "reward.approved",
        "reward.created",
        "reward.created",
    ]
    assert len({r.headers["webhook-id"] for r in hook.received}) == 5


def test_a_body_changed_by_one_byte_is_rejected_by_the_receiver(
    session, client, api, workspace, hook
):
    _convert(session, client, api, workspace)
    run_cycle(session, settings=_settings())
    delivered = hook.received[0]
    tampered = bytearray(delivered.body)
    tampered[len(tampered) // 2] ^= 0x01
    with pytest.raises(Exception, match="signature"):
        hook.verify(bytes(tampered), delivered.headers)


def test_a_timestamp_older_than_five_minutes_is_rejected(session, client, api, workspace, hook):
    _convert(session, client, api, workspace)
    late = utcnow() - timedelta(minutes=6)
    report_ = deliver_due(session, settings=_settings(), clock=lambda: late)
    assert report_.delivered == 0
    assert hook.received, "nothing arrived at the receiver"
    assert all(not r.verified and "too old" in (r.error or "") for r in hook.received)


def test_failures_are_retried_with_back_off_then_dead_then_replayed(
    session, client, api, workspace, hook
):
    hook.status = 500
    _convert(session, client, api, workspace)
    now = utcnow()
    deliver_due(session, settings=_settings(), clock=lambda: now)
    row = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).first()
    session.refresh(row)
    assert (row.state, row.attempts, row.last_status) == ("pending", 1, 500)
    assert row.next_attempt_at == now + timedelta(seconds=30)
    deliver_due(session, settings=_settings(), clock=lambda: now + timedelta(seconds=31))
    session.refresh(row)
    assert (row.attempts, row.next_attempt_at) == (2, now + timedelta(seconds=91))
    deliver_due(session, settings=_settings(), clock=lambda: now + timedelta(seconds=92))
    session.refresh(row)
    assert (row.state, row.attempts) == ("dead", 3)

    url = f"/api/v1/webhooks/{hook.subscription_id}/deliveries"
    dead = api.get(url + "?state=dead").json["items"]
    assert len(dead) == 5
    first_id = hook.received[0].headers["webhook-id"]
    hook.status = 204
    replayed = api.post(f"{url}/{row.id}/replay")
    assert replayed.status_code == 200 and replayed.json["state"] == "pending"
    deliver_due(session, settings=_settings())
    session.refresh(row)
    assert row.state == "delivered"
    # The replay carries the webhook-id of the first attempt: receivers can drop duplicates.
    assert len(hook.received) == 3 * 5 + 1
    first_attempt_ids = [r.headers["webhook-id"] for r in hook.received[:5]]
    assert hook.received[-1].headers["webhook-id"] in first_attempt_ids
    assert first_id in first_attempt_ids


def test_redirects_are_not_followed(session, client, api, workspace, hook):
    hook.status, hook.location = 302, "http://127.0.0.1:9/elsewhere"
    _convert(session, client, api, workspace)
    report_ = deliver_due(session, settings=_settings())
    assert report_.delivered == 0 and report_.retrying == 5
    assert {r.path for r in hook.received} == {"/hooks/advocacy"}
    errors = set(session.scalars(select(WebhookDelivery.last_error)))
    assert errors == {"HTTP 302"}


def test_a_private_target_is_refused_again_at_delivery(session, client, api, workspace, hook):
    _convert(session, client, api, workspace)
    report_ = deliver_due(session, settings=_settings(allow_private=False))
    assert report_.delivered == 0
    assert hook.received == []
    # The receiver is plain http on loopback: refused for both reasons once not allowed.
    assert set(session.scalars(select(WebhookDelivery.last_error))) == {
        "Webhook URLs must use https."
    }


def test_a_deleted_subscription_gets_nothing(session, client, api, workspace, hook):
    _convert(session, client, api, workspace)
    api.delete(f"/api/v1/webhooks/{hook.subscription_id}")
    assert deliver_due(session, settings=_settings()).delivered == 0
    assert hook.received == []


def test_event_types_filter_deliveries(session, client, api, workspace, local_targets):
    with receiver() as target:
        api.post(
            "/api/v1/webhooks", json={"url": target.url, "event_types": ["referral.attributed"]}
        )
        _convert(session, client, api, workspace)
        deliver_due(session, settings=_settings())
        assert [json.loads(r.body)["type"] for r in target.received] == ["referral.attributed"]


def test_a_failed_request_leaves_no_event(api, workspace, session):
    report(api, purchase(occurred_at=utcnow() + timedelta(hours=2)))
    assert session.scalars(select(OutboxEvent)).all() == []


def test_the_worker_command_runs_once(app, session):
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
