"""Rewards through their states: settlement, review, issue, refunds; the ledger behind them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, update

from advocacy.rewards.lifecycle import settle_rewards
from advocacy.rewards.models import (
    ImmutableRowError,
    LedgerEntry,
    LedgerTransaction,
    Reward,
    RewardEvent,
)
from advocacy.types import utcnow
from advocacy.webhooks.models import OutboxEvent
from tests.factories import ApiClient
from tests.rewards.helpers import click, purchase, report, signup, start_program, states


def _convert(api, client, program, **kw):
    cookies = click(client, program.token)
    return report(api, purchase(ref=program.token, visitor_id=cookies["adv_vid"], **kw))


def _ids(response):
    return {r["role"]: r["id"] for r in response.json["rewards"]}


def _balance(api, who):
    body = api.get(f"/api/v1/customers/{who}/rewards").json
    return {b["unit"]: b["amount"] for b in body["balance"]}


def _transactions_balance(session):
    sums = session.execute(
        select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount)).group_by(
            LedgerEntry.transaction_id
        )
    ).all()
    assert sums and all(total == 0 for _, total in sums)


@pytest.fixture
def hold(session, api, workspace):
    """A campaign with a 14-day return window."""
    return start_program(session, api, workspace.id, hold_days=14)


def test_without_a_return_window_rewards_are_approved_and_booked_at_once(
    session, client, api, workspace
):
    program = start_program(session, api, workspace.id, hold_days=0)
    cookies = click(client, program.token)
    body = purchase(ref=program.token, visitor_id=cookies["adv_vid"])
    response = report(api, body)
    assert states(response) == {"inviter": "approved", "invitee": "approved"}
    assert response.json["referral"]["state"] == "rewarded"
    assert _balance(api, "ann") == {"EUR": 1000}
    assert _balance(api, "zoe") == {"EUR": 1500}
    _transactions_balance(session)


def test_rewards_wait_for_the_return_window(session, client, api, hold):
    response = _convert(api, client, hold)
    assert states(response) == {"inviter": "pending", "invitee": "pending"}
    page = api.get("/api/v1/customers/ann/rewards").json
    assert page["balance"] == []
    assert page["pending"] == [{"unit": "EUR", "amount": 1000}]


def test_settlement_approves_rewards_after_the_window(session, client, api, hold):
    _convert(api, client, hold)
    assert settle_rewards(session, now=utcnow() + timedelta(days=13)) == 0
    assert settle_rewards(session, now=utcnow() + timedelta(days=14, minutes=1)) == 2
    session.commit()
    assert _balance(api, "ann") == {"EUR": 1000}
    assert _balance(api, "zoe") == {"EUR": 1500}
    _transactions_balance(session)


def test_the_settle_command_approves_due_rewards(app, session, client, api, hold):
    _convert(api, client, hold)
    session.execute(update(Reward).values(approve_after=utcnow() - timedelta(seconds=1)))
    session.commit()
    result = app.test_cli_runner().invoke(args=["rewards", "settle"])
    assert result.exit_code == 0, result.output
    assert "2 rewards approved" in result.output
    assert _balance(api, "ann") == {"EUR": 1000}


def test_the_customer_page_lists_rewards_with_history(session, client, api, hold):
    _convert(api, client, hold)
    settle_rewards(session, now=utcnow() + timedelta(days=15))
    session.commit()
    item = api.get("/api/v1/customers/zoe/rewards").json["items"][0]
    assert (item["role"], item["amount"], item["currency"], item["state"]) == (
        "invitee",
        1500,
        "EUR",
        "approved",
    )
    assert [h["to_state"] for h in item["history"]] == ["pending", "approved"]
    assert item["event_id"] == "order-1"


def test_unknown_customer_rewards_are_404(api, workspace):
    assert api.get("/api/v1/customers/nobody/rewards").status_code == 404


def test_held_rewards_form_the_review_queue(app, session, client, api, hold, monkeypatch):
    monkeypatch.setitem(app.config, "VELOCITY_LIMIT_PER_DAY", 1)
    _convert(api, client, hold, event_id="o1", invitee="zoe")
    _convert(api, client, hold, event_id="o2", invitee="yan")
    queue = api.get("/api/v1/rewards?state=held").json["items"]
    assert {(r["event_id"], r["role"]) for r in queue} == {("o2", "inviter"), ("o2", "invitee")}
    assert all(r["reasons"] == ["velocity"] for r in queue)


def test_approving_a_held_reward_books_it(app, session, client, api, hold, monkeypatch):
    monkeypatch.setitem(app.config, "VELOCITY_LIMIT_PER_DAY", 1)
    _convert(api, client, hold, event_id="o1", invitee="zoe")
    held = _ids(_convert(api, client, hold, event_id="o2", invitee="yan"))
    response = api.post(f"/api/v1/rewards/{held['invitee']}/approve", json={"reason": "checked"})
    assert response.status_code == 200
    assert response.json["state"] == "approved"
    assert response.json["history"][-1] == {
        **response.json["history"][-1],
        "from_state": "held",
        "to_state": "approved",
        "reason": "checked",
    }
    assert _balance(api, "yan") == {"EUR": 1500}


def test_rejecting_a_reward_keeps_the_reason(session, client, api, hold):
    ids = _ids(_convert(api, client, hold))
    response = api.post(f"/api/v1/rewards/{ids['inviter']}/reject", json={"reason": "fake order"})
    assert response.json["state"] == "rejected"
    assert response.json["reasons"] == ["fake order"]


def test_a_rejected_reward_cannot_be_approved(session, client, api, hold):
    ids = _ids(_convert(api, client, hold))
    api.post(f"/api/v1/rewards/{ids['inviter']}/reject", json={"reason": "no"})
    response = api.post(f"/api/v1/rewards/{ids['inviter']}/approve", json={"reason": "yes"})
    assert response.status_code == 409


def test_approving_twice_changes_nothing(session, client, api, hold):
    ids = _ids(_convert(api, client, hold))
    api.post(f"/api/v1/rewards/{ids['inviter']}/approve", json={"reason": "ok"})
    again = api.post(f"/api/v1/rewards/{ids['inviter']}/approve", json={"reason": "ok"})
    assert again.status_code == 200
    assert session.scalar(select(func.count()).select_from(LedgerTransaction)) == 1


def test_review_needs_a_reason(session, client, api, hold):
    ids = _ids(_convert(api, client, hold))
    assert api.post(f"/api/v1/rewards/{ids['inviter']}/approve", json={}).status_code == 422


def test_issuing_records_the_code(session, client, api, hold):
    ids = _ids(_convert(api, client, hold))
    api.post(f"/api/v1/rewards/{ids['invitee']}/approve", json={"reason": "ok"})
    response = api.post(f"/api/v1/rewards/{ids['invitee']}/issue", json={"code": "WELCOME-15"})
    assert (response.json["state"], response.json["code"]) == ("issued", "WELCOME-15")
    assert _balance(api, "zoe") == {"EUR": 1500}


def test_only_approved_rewards_are_issued(session, client, api, hold):
    ids = _ids(_convert(api, client, hold))
    assert api.post(f"/api/v1/rewards/{ids['invitee']}/issue", json={}).status_code == 409


def test_review_needs_the_campaigns_scope(session, client, api, workspace, hold):
    ids = _ids(_convert(api, client, hold))
    reader = ApiClient(client, workspace.key(session, "read", "conversions"))
    assert (
        reader.post(f"/api/v1/rewards/{ids['inviter']}/approve", json={"reason": "x"}).status_code
        == 403
    )


def test_another_workspaces_reward_is_404(session, client, api, other_api, hold):
    ids = _ids(_convert(api, client, hold))
    assert other_api.get(f"/api/v1/rewards/{ids['inviter']}").status_code == 404


# --- refunds ----------------------------------------------------------------------------


def _refund(api, event_id="order-1", **body):
    return api.post(f"/api/v1/conversions/{event_id}/refund", json=body)


def test_a_full_refund_reverses_booked_rewards(session, client, api, workspace):
    program = start_program(session, api, workspace.id, hold_days=0)
    _convert(api, client, program)
    response = _refund(api)
    assert response.status_code == 200
    assert states(response) == {"inviter": "reversed", "invitee": "reversed"}
    assert response.json["refund"]["amount"] == 5000
    assert _balance(api, "ann") == {"EUR": 0}
    reversals = session.scalars(
        select(LedgerTransaction).where(LedgerTransaction.kind == "reversal")
    ).all()
    assert len(reversals) == 2 and all(r.reverses_id is not None for r in reversals)
    _transactions_balance(session)


def test_a_second_refund_reverses_nothing_more(session, client, api, workspace):
    program = start_program(session, api, workspace.id, hold_days=0)
    _convert(api, client, program)
    _refund(api)
    again = _refund(api)
    assert again.status_code == 200
    assert again.json["refund"] is None
    count = session.scalar(
        select(func.count())
        .select_from(LedgerTransaction)
        .where(LedgerTransaction.kind == "reversal")
    )
    assert count == 2


def test_refunding_pending_rewards_rejects_them(session, client, api, hold):
    _convert(api, client, hold)
    response = _refund(api)
    assert states(response) == {"inviter": "rejected", "invitee": "rejected"}
    assert response.json["rewards"][0]["reasons"] == ["refund"]
    assert settle_rewards(session, now=utcnow() + timedelta(days=30)) == 0


def test_a_partial_refund_keeping_the_minimum_keeps_the_rewards(session, client, api, workspace):
    program = start_program(session, api, workspace.id, hold_days=0, min_order_amount=3000)
    _convert(api, client, program, amount=5000)
    response = _refund(api, amount=2000)
    assert states(response) == {"inviter": "approved", "invitee": "approved"}
    assert response.json["refunded_amount"] == 2000


def test_a_partial_refund_below_the_minimum_reverses(session, client, api, workspace):
    program = start_program(session, api, workspace.id, hold_days=0, min_order_amount=3000)
    _convert(api, client, program, amount=5000)
    _refund(api, amount=1000)
    response = _refund(api, amount=1001)
    assert states(response) == {"inviter": "reversed", "invitee": "reversed"}


def test_a_refund_id_is_recorded_once(session, client, api, workspace):
    program = start_program(session, api, workspace.id, hold_days=0)
    _convert(api, client, program)
    _refund(api, amount=100, refund_id="r-1")
    again = _refund(api, amount=100, refund_id="r-1")
    assert again.json["refunded_amount"] == 100
    assert again.json["refund"] is None


def test_refunding_more_than_is_left_is_422(session, client, api, workspace):
    program = start_program(session, api, workspace.id, hold_days=0)
    _convert(api, client, program, amount=5000)
    assert _refund(api, amount=5001).status_code == 422


def test_a_signup_cannot_be_refunded(api, workspace):
    report(api, signup("s-1"))
    assert _refund(api, "s-1").status_code == 422


def test_refunding_an_unknown_conversion_is_404(api, workspace):
    assert _refund(api, "nope").status_code == 404


def test_an_issued_reward_is_reversed_by_a_refund(session, client, api, workspace):
    program = start_program(session, api, workspace.id, hold_days=0)
    ids = _ids(_convert(api, client, program))
    api.post(f"/api/v1/rewards/{ids['invitee']}/issue", json={"code": "C-1"})
    assert states(_refund(api))["invitee"] == "reversed"
    assert _balance(api, "zoe") == {"EUR": 0}


# --- the ledger is insert-only --------------------------------------------------------


@pytest.fixture
def booked(session, client, api, workspace):
    program = start_program(session, api, workspace.id, hold_days=0)
    _convert(api, client, program)
    return session.scalars(select(LedgerEntry)).first()


def test_ledger_entries_cannot_be_changed(session, booked):
    booked.amount = 1
    with pytest.raises(ImmutableRowError):
        session.flush()
    session.rollback()


def test_ledger_entries_cannot_be_deleted(session, booked):
    session.delete(booked)
    with pytest.raises(ImmutableRowError):
        session.flush()
    session.rollback()


def test_ledger_rows_cannot_be_bulk_updated_or_deleted(session, booked):
    with pytest.raises(ImmutableRowError):
        session.execute(update(LedgerEntry).values(amount=0))
    with pytest.raises(ImmutableRowError):
        session.execute(delete(LedgerTransaction))
    with pytest.raises(ImmutableRowError):
        session.execute(delete(RewardEvent))
    session.rollback()


# --- the outbox -----------------------------------------------------------------------


def test_events_are_written_with_the_conversion(session, client, api, workspace):
    program = start_program(session, api, workspace.id, hold_days=0)
    _convert(api, client, program)
    types = sorted(session.scalars(select(OutboxEvent.type)))
    assert types == [
        "referral.attributed",
        "reward.approved",
        "reward.approved",
        "reward.created",
        "reward.created",
    ]


def test_a_refund_announces_the_reversals(session, client, api, workspace):
    program = start_program(session, api, workspace.id, hold_days=0)
    _convert(api, client, program)
    _refund(api)
    assert sorted(session.scalars(select(OutboxEvent.type)))[-2:] == [
        "reward.reversed",
        "reward.reversed",
    ]
