"""Every fraud and eligibility rule through POST /api/v1/conversions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from advocacy.campaigns.models import Campaign
from advocacy.types import utcnow
from tests.factories import customer, enroll
from tests.rewards.helpers import click, issue_link, purchase, report, start_program, states


def _verdict(response):
    assert response.status_code == 201, response.json
    rewards = response.json["rewards"]
    assert len(rewards) == 2, response.json
    assert len({r["state"] for r in rewards}) == 1
    return rewards[0]["state"], rewards[0]["reasons"]


def _convert(api, client, program, **kw):
    cookies = click(client, program.token)
    body = purchase(ref=program.token, visitor_id=cookies["adv_vid"], **kw)
    return report(api, body)


def test_a_clean_referral_is_pending(session, client, api, workspace):
    program = start_program(session, api, workspace.id, hold_days=14)
    assert _verdict(_convert(api, client, program)) == ("pending", [])


def test_the_advocate_referring_themselves_is_rejected(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    response = _convert(api, client, program, invitee="ann", email="ann@example.com")
    assert _verdict(response) == ("rejected", ["self_referral_customer", "self_referral_email"])
    assert response.json["referral"]["state"] == "rejected"


def test_a_plus_tag_of_the_advocates_email_is_rejected(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    response = _convert(api, client, program, invitee="zed", email="Ann+friends@example.com")
    assert _verdict(response) == ("rejected", ["self_referral_email"])


def test_a_dotted_gmail_of_the_advocate_is_rejected(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    api.put("/api/v1/customers/gil", json=customer("gil", email="gil.bert@gmail.com"))
    enroll(session, program.campaign, "gil")
    program.link = issue_link(api, program.campaign.id, "gil")
    response = _convert(api, client, program, invitee="gb", email="g.i.l.b.e.r.t@googlemail.com")
    assert _verdict(response) == ("rejected", ["self_referral_email"])


def test_the_advocates_own_visitor_id_is_rejected(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    cookies = click(client, program.token)
    # Ann once bought on this device herself.
    report(api, purchase("ann-own", "ann", email="ann@example.com", visitor_id=cookies["adv_vid"]))
    response = report(api, purchase(ref=program.token, visitor_id=cookies["adv_vid"]))
    assert _verdict(response) == ("rejected", ["self_referral_visitor"])


def test_the_advocates_own_ip_and_user_agent_are_held(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    device = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (iPhone)"}
    report(api, purchase("ann-own", "ann", email="ann@example.com", **device))
    response = _convert(api, client, program, **device)
    assert _verdict(response) == ("held", ["self_referral_device"])


def test_same_ip_with_another_browser_is_fine(session, client, api, workspace):
    program = start_program(session, api, workspace.id, hold_days=14)
    report(api, purchase("ann-own", "ann", ip="203.0.113.7", user_agent="Firefox"))
    response = _convert(api, client, program, ip="203.0.113.7", user_agent="Safari")
    assert _verdict(response) == ("pending", [])


def test_a_customer_who_bought_before_the_click_is_rejected(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    api.put("/api/v1/customers/zoe", json=customer("zoe", email="zoe@example.net"))
    api.post(
        "/api/v1/customers/zoe/events",
        json={
            "kind": "purchase",
            "amount": 900,
            "currency": "EUR",
            "occurred_at": (utcnow() - timedelta(days=3)).isoformat(),
        },
    )
    assert _verdict(_convert(api, client, program)) == ("rejected", ["existing_customer"])


def test_first_purchase_only_rejects_a_second_purchase(session, client, api, workspace):
    program = start_program(session, api, workspace.id, first_purchase_only=True)
    cookies = click(client, program.token)
    api.put("/api/v1/customers/zoe", json=customer("zoe", email="zoe@example.net"))
    api.post(
        "/api/v1/customers/zoe/events",
        json={
            "kind": "purchase",
            "amount": 900,
            "currency": "EUR",
            "occurred_at": utcnow().isoformat(),
        },
    )
    body = purchase(
        ref=program.token,
        visitor_id=cookies["adv_vid"],
        occurred_at=utcnow() + timedelta(seconds=1),
    )
    assert _verdict(report(api, body)) == ("rejected", ["not_first_purchase"])


def test_an_order_below_the_minimum_is_rejected(session, client, api, workspace):
    program = start_program(session, api, workspace.id, min_order_amount=10000)
    assert _verdict(_convert(api, client, program, amount=9999)) == (
        "rejected",
        ["below_min_order"],
    )


def test_a_disposable_email_is_rejected(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    response = _convert(api, client, program, email="zoe@mailinator.com")
    assert _verdict(response) == ("rejected", ["disposable_email"])


def test_a_paused_campaign_rewards_nothing(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    cookies = click(client, program.token)
    session.execute(
        update(Campaign).where(Campaign.id == program.campaign.id).values(status="paused")
    )
    session.commit()
    response = report(api, purchase(ref=program.token, visitor_id=cookies["adv_vid"]))
    assert _verdict(response) == ("rejected", ["campaign_not_active"])


def test_the_budget_stops_the_rewards_that_do_not_fit(session, client, api, workspace):
    program = start_program(session, api, workspace.id, budget=4000, hold_days=14)
    assert _verdict(_convert(api, client, program, event_id="o1", invitee="zoe"))[0] == "pending"
    second = _convert(api, client, program, event_id="o2", invitee="yan")
    assert _verdict(second) == ("rejected", ["budget_exhausted"])


def test_rejected_rewards_do_not_use_the_budget(session, client, api, workspace):
    program = start_program(session, api, workspace.id, budget=2500, hold_days=14)
    _convert(api, client, program, event_id="o1", invitee="spam", email="spam@mailinator.com")
    assert _verdict(_convert(api, client, program, event_id="o2", invitee="yan"))[0] == "pending"


def test_the_per_advocate_cap_stops_further_rewards(session, client, api, workspace):
    program = start_program(session, api, workspace.id, per_advocate_cap=1, hold_days=14)
    _convert(api, client, program, event_id="o1", invitee="zoe")
    second = _convert(api, client, program, event_id="o2", invitee="yan")
    assert _verdict(second) == ("rejected", ["advocate_cap_reached"])


def test_velocity_holds_rewards_for_review(app, session, client, api, workspace, monkeypatch):
    monkeypatch.setitem(app.config, "VELOCITY_LIMIT_PER_DAY", 1)
    program = start_program(session, api, workspace.id, hold_days=14)
    _convert(api, client, program, event_id="o1", invitee="zoe")
    second = _convert(api, client, program, event_id="o2", invitee="yan")
    assert _verdict(second) == ("held", ["velocity"])


def test_an_invitee_is_rewarded_once_per_campaign(session, client, api, workspace):
    program = start_program(session, api, workspace.id, hold_days=14)
    cookies = click(client, program.token)
    evidence = {"ref": program.token, "visitor_id": cookies["adv_vid"]}
    report(api, purchase("o1", **evidence))
    second = report(api, purchase("o2", **evidence))
    assert _verdict(second) == ("rejected", ["invitee_already_rewarded"])


def test_a_purchase_after_a_new_click_by_a_buyer_is_an_existing_customer(
    session, client, api, workspace
):
    program = start_program(session, api, workspace.id, hold_days=14)
    _convert(api, client, program, event_id="o1")
    second = _convert(api, client, program, event_id="o2")
    assert _verdict(second) == ("rejected", ["existing_customer"])


def test_reasons_are_listed_rejections_first(app, session, client, api, workspace, monkeypatch):
    monkeypatch.setitem(app.config, "VELOCITY_LIMIT_PER_DAY", 1)
    program = start_program(session, api, workspace.id, min_order_amount=6000)
    response = _convert(api, client, program, email="zoe@mailinator.com", amount=100)
    assert states(response) == {"inviter": "rejected", "invitee": "rejected"}
    assert response.json["rewards"][0]["reasons"] == ["below_min_order", "disposable_email"]
