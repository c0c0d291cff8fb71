"""The Review page: held rewards with reasons and evidence, decisions one at a time or in
bulk (htmx), recorded with the staff member; who may decide; other workspaces' rewards."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from advocacy.rewards.models import Reward, RewardEvent
from tests.rewards.helpers import click, purchase, report, start_program


def _convert(api, client, program, **kw):
    cookies = click(client, program.token)
    return report(api, purchase(ref=program.token, visitor_id=cookies["adv_vid"], **kw))


@pytest.fixture
def held(app, session, client, api, workspace, monkeypatch):
    """Two held rewards (velocity): the second conversion of an advocate in a day."""
    monkeypatch.setitem(app.config, "VELOCITY_LIMIT_PER_DAY", 1)
    program = start_program(session, api, workspace.id, hold_days=14)
    _convert(api, client, program, event_id="o1", invitee="zoe")
    response = _convert(api, client, program, event_id="o2", invitee="yan")
    ids = {r["role"]: r["id"] for r in response.json["rewards"]}
    assert {r["state"] for r in response.json["rewards"]} == {"held"}
    return ids


def _state(session, reward_id):
    session.expire_all()
    return session.get(Reward, reward_id).state


def test_reviewer_sees_held_rewards_with_reasons_and_evidence(console, held):
    console.sign_in("reviewer")
    html = console.get("/review/").get_data(as_text=True)
    assert f'id="reward-{held["inviter"]}"' in html and f'id="reward-{held["invitee"]}"' in html
    assert "Velocity: the advocate already had many rewarded referrals" in html
    assert "<dt>Advocate</dt><dd>ann</dd>" in html and "<dt>Friend</dt><dd>yan</dd>" in html
    assert "purchase of €50.00" in html


def test_approve_one_with_a_note_is_recorded_with_the_staff_member(console, session, held):
    user = console.sign_in("reviewer")
    response = console.post(
        f"/review/{held['invitee']}",
        data={"action": "approve", "note": "known household"},
        htmx=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html  # the queue only, swapped in place
    assert "Approved: Reward #" in html and f'id="reward-{held["invitee"]}"' not in html
    assert user.email in html and "known household" in html  # the decisions table
    assert _state(session, held["invitee"]) == "approved"
    assert _state(session, held["inviter"]) == "held"
    event = session.scalars(
        select(RewardEvent)
        .where(RewardEvent.reward_id == held["invitee"])
        .order_by(RewardEvent.id.desc())
    ).first()
    assert (event.to_state, event.reason, event.staff_user_id) == (
        "approved",
        "known household",
        user.id,
    )


def test_bulk_reject_decides_every_selected_reward(console, session, held):
    console.sign_in("reviewer")
    response = console.post(
        "/review/bulk",
        data={"reward_id": [held["inviter"], held["invitee"]], "action": "reject", "note": "ring"},
        htmx=True,
    )
    assert response.status_code == 200
    assert "Rejected: 2 rewards." in response.get_data(as_text=True)
    assert {_state(session, i) for i in held.values()} == {"rejected"}


def test_a_decision_without_a_note_changes_nothing(console, session, held):
    console.sign_in("reviewer")
    response = console.post(f"/review/{held['inviter']}", data={"action": "approve", "note": " "})
    assert response.status_code == 422
    assert "Write a note" in response.get_data(as_text=True)
    assert _state(session, held["inviter"]) == "held"


def test_bulk_is_all_or_nothing(console, session, held):
    console.sign_in("reviewer")
    console.post(f"/review/{held['inviter']}", data={"action": "reject", "note": "no"})
    response = console.post(
        "/review/bulk",
        data={"reward_id": [held["invitee"], held["inviter"]], "action": "approve", "note": "ok"},
    )
    assert response.status_code == 409 and "Nothing was changed" in response.get_data(as_text=True)
    assert _state(session, held["invitee"]) == "held"


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_roles_without_the_rewards_scope_cannot_review(console, session, held, role):
    console.sign_in(role)
    assert console.get("/review/").status_code == 403
    data = {"action": "approve", "note": "x"}
    assert console.post(f"/review/{held['inviter']}", data=data).status_code == 403
    assert (
        console.post("/review/bulk", data={**data, "reward_id": held["inviter"]}).status_code == 403
    )
    assert _state(session, held["inviter"]) == "held"


def test_owner_may_review(console, session, held):
    console.sign_in("owner")
    assert console.get("/review/").status_code == 200
    console.post(f"/review/{held['inviter']}", data={"action": "approve", "note": "fine"})
    assert _state(session, held["inviter"]) == "approved"


def test_another_workspaces_reward_is_not_found(console, session, held, other_workspace):
    console.sign_in("owner", workspace_id=other_workspace.id)
    data = {"action": "approve", "note": "x"}
    assert console.post(f"/review/{held['inviter']}", data=data).status_code == 404
    assert (
        console.post("/review/bulk", data={**data, "reward_id": held["inviter"]}).status_code == 404
    )
    assert f'id="reward-{held["inviter"]}"' not in console.get("/review/").get_data(as_text=True)
    assert _state(session, held["inviter"]) == "held"


def test_post_without_csrf_token_is_refused(console, session, held):
    console.sign_in("reviewer")
    response = console.open(
        f"/review/{held['inviter']}", method="POST", data={"action": "approve", "note": "x"}
    )
    assert response.status_code == 400
    assert _state(session, held["inviter"]) == "held"
