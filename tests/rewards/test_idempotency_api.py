"""Idempotency-Key on POST /api/v1/conversions: 400, replay, 422, 409; event_id dedupe."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select, update

from advocacy.api import idempotency
from advocacy.rewards.models import Conversion, IdempotencyKey, Reward
from advocacy.types import utcnow
from tests.rewards.helpers import click, purchase, report, start_program


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_missing_key_is_400(api, workspace):
    response = api.post("/api/v1/conversions", json=purchase())
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith("/idempotency-key-missing")


def test_an_overlong_key_is_400(api, workspace):
    assert report(api, purchase(), key="k" * 256).status_code == 400


def test_a_retry_replays_the_stored_status_and_body(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    click(client, program.token)
    body = purchase(ref=program.token)
    first = report(api, body, key="key-1")
    again = report(api, body, key="key-1")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count(session, Conversion) == 1
    assert _count(session, Reward) == 2


def test_key_order_and_spacing_do_not_make_another_request(api, workspace):
    body = purchase()
    first = report(api, body, key="key-1")
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    again = api.post(
        "/api/v1/conversions",
        data=reordered,
        headers={"Idempotency-Key": "key-1", "Content-Type": "application/json"},
    )
    assert again.status_code == first.status_code
    assert again.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_is_422(api, workspace):
    report(api, purchase(amount=5000), key="key-1")
    response = report(api, purchase(amount=6000), key="key-1")
    assert response.status_code == 422
    assert response.json["type"].endswith("/idempotency-key-reused")


def test_the_same_key_while_the_first_runs_is_409(app, session, api, workspace, monkeypatch):
    body = purchase()
    session.add(
        IdempotencyKey(
            workspace_id=workspace.id,
            key="key-1",
            fingerprint=idempotency.fingerprint(
                "POST", "/api/v1/conversions", json.dumps(body).encode()
            ),
            state="in_progress",
        )
    )
    session.commit()
    monkeypatch.setitem(app.config, "IDEMPOTENCY_WAIT_MS", 20)
    response = report(api, body, key="key-1")
    assert response.status_code == 409
    assert response.headers["Retry-After"] == "1"
    assert _count(session, Conversion) == 0


def test_an_abandoned_claim_is_taken_over(session, api, workspace):
    body = purchase()
    stale = utcnow() - timedelta(minutes=10)
    session.add(
        IdempotencyKey(
            workspace_id=workspace.id,
            key="key-1",
            fingerprint=idempotency.fingerprint(
                "POST", "/api/v1/conversions", json.dumps(body).encode()
            ),
            state="in_progress",
            created_at=stale,
            locked_at=stale,
        )
    )
    session.commit()
    assert report(api, body, key="key-1").status_code == 201


def test_keys_belong_to_their_workspace(api, other_api, workspace):
    assert report(api, purchase(), key="shared").status_code == 201
    response = report(other_api, purchase(), key="shared")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers


def test_an_invalid_body_does_not_use_up_the_key(api, workspace):
    bad = purchase()
    del bad["amount"]
    assert report(api, bad, key="key-1").status_code == 422
    assert report(api, purchase(), key="key-1").status_code == 201


def test_a_failed_request_releases_its_key(session, api, workspace):
    future = purchase(occurred_at=utcnow() + timedelta(hours=1))
    assert report(api, future, key="key-1").status_code == 422
    assert session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "key-1")) is None


def test_the_same_event_id_under_a_new_key_answers_200_with_the_same_conversion(
    session, client, api, workspace
):
    program = start_program(session, api, workspace.id)
    click(client, program.token)
    body = purchase(ref=program.token)
    first = report(api, body)
    second = report(api, body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json["rewards"] == first.json["rewards"]
    assert _count(session, Reward) == 2


def test_the_same_event_id_with_other_facts_is_409(api, workspace):
    body = purchase(amount=5000)
    report(api, body)
    response = report(api, {**body, "amount": 7000})
    assert response.status_code == 409


def test_an_expired_key_names_a_new_request_and_event_id_still_dedupes(session, api, workspace):
    body = purchase()
    report(api, body, key="key-1")
    session.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=25)))
    session.commit()
    response = report(api, body, key="key-1")
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response.headers
    assert _count(session, Conversion) == 1


def test_old_keys_are_purged(session, api, workspace):
    report(api, purchase(), key="key-1")
    now = utcnow()
    assert idempotency.purge_keys(session, now=now, ttl=timedelta(hours=24)) == 0
    assert (
        idempotency.purge_keys(session, now=now + timedelta(hours=25), ttl=timedelta(hours=24)) == 1
    )


def test_refund_accepts_an_idempotency_key(session, client, api, workspace):
    report(api, purchase())
    first = api.post(
        "/api/v1/conversions/order-1/refund", json={"amount": 100}, headers={"Idempotency-Key": "r"}
    )
    again = api.post(
        "/api/v1/conversions/order-1/refund", json={"amount": 100}, headers={"Idempotency-Key": "r"}
    )
    assert first.status_code == again.status_code == 200
    assert again.json["refunded_amount"] == 100
    assert again.headers["Idempotent-Replayed"] == "true"


def test_unknown_fields_are_refused(api, workspace):
    response = report(api, {**purchase(), "rewards": []})
    assert response.status_code == 422
    assert "rewards" in response.json["errors"]


def test_a_purchase_needs_an_amount_and_a_currency(api, workspace):
    body = purchase()
    del body["currency"]
    response = report(api, body)
    assert response.status_code == 422
    assert "currency" in response.json["errors"]


def test_conversions_need_the_conversions_scope(session, client, workspace):
    from tests.factories import ApiClient

    reader = ApiClient(client, workspace.key(session, "read"))
    assert report(reader, purchase()).status_code == 403
