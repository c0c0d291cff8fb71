"""POST /api/v1/conversions: each attribution path, window edges, first and last click."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from advocacy.links.models import Click, ReferralLink
from advocacy.types import utcnow
from tests.factories import enroll, put_customers
from tests.rewards.helpers import click, issue_link, purchase, report, signup, start_program


def _attributed(response, evidence, advocate="ann"):
    assert response.status_code == 201, response.json
    body = response.json
    assert body["attributed"] is True, body
    assert body["referral"]["evidence"] == evidence
    assert body["referral"]["advocate"] == advocate
    return body


def test_ref_from_the_landing_url_attributes(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    cookies = click(client, program.token)
    body = _attributed(
        report(api, purchase(ref=program.token, visitor_id=cookies["adv_vid"])), "ref"
    )
    assert body["referral"]["link_id"] == program.link["id"]
    assert body["referral"]["click_id"] is not None
    assert {r["role"] for r in body["rewards"]} == {"inviter", "invitee"}


def test_ref_without_a_visitor_id_uses_the_links_latest_click(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    click(client, program.token)
    _attributed(report(api, purchase(ref=program.token)), "ref")


def test_attribution_cookie_attributes(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    cookies = click(client, program.token)
    _attributed(report(api, purchase(attribution=cookies["adv_ref"])), "cookie")


def test_visitor_id_attributes(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    cookies = click(client, program.token)
    _attributed(report(api, purchase(visitor_id=cookies["adv_vid"])), "visitor")


def test_personal_invitation_attributes_by_email(session, api, workspace):
    program = start_program(session, api, workspace.id)
    issue_link(api, program.campaign.id, "ann", invitee="Zoe@Example.net")
    _attributed(report(api, purchase(invitee="zoe", email="zoe@example.net")), "invitation")


def test_an_earlier_attributed_signup_carries_to_the_purchase(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    cookies = click(client, program.token)
    first = report(api, signup(ref=program.token, visitor_id=cookies["adv_vid"]))
    assert first.json["referral"]["state"] == "signed_up"
    assert first.json["rewards"] == []
    body = _attributed(report(api, purchase()), "prior_referral")
    assert len(body["rewards"]) == 2


def test_ref_beats_the_visitor_id_of_another_advocate(session, client, api, workspace):
    program = start_program(session, api, workspace.id, "ann", "bob")
    bobs = issue_link(api, program.campaign.id, "bob")
    click(client, program.token)
    cookies = click(client, bobs["token"])
    _attributed(report(api, purchase(ref=program.token, visitor_id=cookies["adv_vid"])), "ref")


def test_last_click_wins_by_default(session, client, api, workspace):
    program = start_program(session, api, workspace.id, "ann", "bob")
    bobs = issue_link(api, program.campaign.id, "bob")
    click(client, program.token)
    cookies = click(client, bobs["token"])
    _attributed(report(api, purchase(visitor_id=cookies["adv_vid"])), "visitor", advocate="bob")


def test_first_click_when_the_campaign_says_so(session, client, api, workspace):
    program = start_program(
        session, api, workspace.id, "ann", "bob", attribution_model="first_click"
    )
    bobs = issue_link(api, program.campaign.id, "bob")
    click(client, program.token)
    cookies = click(client, bobs["token"])
    _attributed(report(api, purchase(visitor_id=cookies["adv_vid"])), "visitor", advocate="ann")


def _age_clicks(session, link_id, age):
    session.execute(update(Click).where(Click.link_id == link_id).values(clicked_at=utcnow() - age))
    session.commit()


def test_a_click_just_inside_the_window_counts(session, client, api, workspace):
    program = start_program(session, api, workspace.id, attribution_window_days=7)
    cookies = click(client, program.token)
    _age_clicks(session, program.link["id"], timedelta(days=7) - timedelta(minutes=1))
    _attributed(report(api, purchase(visitor_id=cookies["adv_vid"])), "visitor")


def test_a_click_just_outside_the_window_does_not(session, client, api, workspace):
    program = start_program(session, api, workspace.id, attribution_window_days=7)
    cookies = click(client, program.token)
    _age_clicks(session, program.link["id"], timedelta(days=7, minutes=1))
    response = report(api, purchase(ref=program.token, visitor_id=cookies["adv_vid"]))
    assert response.status_code == 201
    assert response.json["attributed"] is False
    assert response.json["reason"] == "outside_attribution_window"
    assert response.json["referral"] is None and response.json["rewards"] == []


def test_a_conversion_before_the_click_is_not_attributed(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    cookies = click(client, program.token)
    body = purchase(visitor_id=cookies["adv_vid"], occurred_at=utcnow() - timedelta(minutes=10))
    assert report(api, body).json["reason"] == "outside_attribution_window"


def test_no_evidence_is_said(api, workspace):
    response = report(api, purchase())
    assert response.status_code == 201
    assert response.json["attributed"] is False
    assert response.json["reason"] == "no_evidence"


def test_a_forged_ref_is_said(session, api, workspace):
    start_program(session, api, workspace.id)
    response = report(api, purchase(ref="1.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb"))
    assert response.json["reason"] == "invalid_ref"


def test_another_workspaces_ref_is_not_ours(session, client, api, other_api, workspace):
    program = start_program(session, api, workspace.id)
    click(client, program.token)
    response = report(other_api, purchase(ref=program.token))
    assert response.json["attributed"] is False
    assert response.json["reason"] == "invalid_ref"


def test_a_link_revoked_before_the_conversion_does_not_count(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    cookies = click(client, program.token)
    session.execute(
        update(ReferralLink)
        .where(ReferralLink.id == program.link["id"])
        .values(revoked_at=utcnow() - timedelta(seconds=1))
    )
    session.commit()
    response = report(api, purchase(ref=program.token, visitor_id=cookies["adv_vid"]))
    assert response.json["attributed"] is False


def test_a_signup_in_a_signup_campaign_is_rewarded(session, client, api, workspace):
    program = start_program(session, api, workspace.id, trigger_event="signup")
    click(client, program.token)
    body = _attributed(report(api, signup(ref=program.token)), "ref")
    assert len(body["rewards"]) == 2


def test_one_sided_campaign_writes_one_reward(session, client, api, workspace):
    program = start_program(
        session,
        api,
        workspace.id,
        one_sided=True,
        invitee_reward_kind=None,
        invitee_reward_amount=None,
        invitee_reward_currency=None,
    )
    click(client, program.token)
    body = _attributed(report(api, purchase(ref=program.token)), "ref")
    assert [r["role"] for r in body["rewards"]] == ["inviter"]


def test_click_ids_point_at_the_winning_click(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    cookies = click(client, program.token)
    body = _attributed(report(api, purchase(visitor_id=cookies["adv_vid"])), "visitor")
    clicked = session.scalar(select(Click.id).where(Click.link_id == program.link["id"]))
    assert body["referral"]["click_id"] == clicked


def test_enrolling_more_advocates_does_not_change_attribution(session, client, api, workspace):
    program = start_program(session, api, workspace.id)
    put_customers(api, "cat")
    enroll(session, program.campaign, "cat")
    cookies = click(client, program.token)
    _attributed(report(api, purchase(visitor_id=cookies["adv_vid"])), "visitor")
