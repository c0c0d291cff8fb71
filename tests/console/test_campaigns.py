"""The Campaigns pages: list, create and edit as the API validates, preview, status changes
after a confirmation, the audit trail naming the staff member, and who may do what."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from advocacy.campaigns.models import Campaign, CampaignAudit
from tests.factories import allow_domains, make_campaign

FORM = {
    "name": "Autumn friends",
    "objective": "conversion",
    "inviter_reward_kind": "credit",
    "inviter_reward_amount": "1000",
    "inviter_reward_currency": "EUR",
    "invitee_reward_kind": "coupon",
    "invitee_reward_amount": "1500",
    "invitee_reward_currency": "eur",
    "trigger_event": "purchase",
    "min_order_amount": "",
    "attribution_window_days": "30",
    "attribution_model": "last_click",
    "hold_days": "14",
    "budget": "500000",
    "per_advocate_cap": "5",
    "starts_at": "2026-01-01T09:00",
    "ends_at": "",
    "landing_url": "https://shop.example/welcome",
    "fallback_url": "",
    "disclosure": "Alex gets EUR 10 credit when you buy.",
}


@pytest.fixture
def shop(session, workspace):
    allow_domains(session, workspace.id, "shop.example")
    return workspace


def _campaigns(session, workspace_id):
    return session.scalars(select(Campaign).where(Campaign.workspace_id == workspace_id)).all()


def test_manager_creates_a_draft_and_the_audit_names_them(console, session, shop):
    user = console.sign_in("manager")
    response = console.post("/campaigns/", data=FORM)
    assert response.status_code == 302
    (campaign,) = _campaigns(session, shop.id)
    assert campaign.status == "draft"
    assert campaign.invitee_reward_currency == "EUR"
    assert campaign.hold_days == 14 and campaign.budget == 500_000
    entries = session.scalars(
        select(CampaignAudit).where(CampaignAudit.campaign_id == campaign.id)
    ).all()
    assert entries and {e.staff_user_id for e in entries} == {user.id}
    trail = console.get(f"/campaigns/{campaign.id}/audit").get_data(as_text=True)
    assert user.email in trail and "credit 1000 EUR" in trail


def test_starts_at_is_read_in_the_workspace_time_zone(console, session, shop):
    from advocacy.workspaces.models import Workspace

    session.get(Workspace, shop.id).time_zone = "Europe/Berlin"
    session.commit()
    console.sign_in("manager")
    assert console.post("/campaigns/", data=FORM).status_code == 302
    (campaign,) = _campaigns(session, shop.id)
    assert campaign.starts_at.replace(tzinfo=None).isoformat() == "2026-01-01T08:00:00"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"landing_url": "https://elsewhere.example/"}, "landing_url", "allow"),
        ({"inviter_reward_amount": "ten"}, "inviter_reward_amount", "Not a valid integer"),
        ({"invitee_reward_currency": ""}, "invitee_reward_currency", "Required"),
        ({"disclosure": ""}, "disclosure", ""),
        ({"invitee_reward_kind": ""}, "invitee_reward_kind", "one_sided"),
        ({"name": ""}, "name", ""),
    ],
)
def test_refused_fields_are_shown_beside_the_field(console, session, shop, changes, field, message):
    console.sign_in("manager")
    response = console.post("/campaigns/", data={**FORM, **changes})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="f-{field}-error"' in html, html
    assert message.lower() in html.lower()
    assert 'value="Autumn friends"' in html or field == "name"  # what was typed stays
    assert _campaigns(session, shop.id) == []


def test_edit_changes_settings_and_keeps_the_others(console, session, shop):
    campaign = make_campaign(session, shop.id)
    console.sign_in("manager")
    form = console.get(f"/campaigns/{campaign.id}/edit")
    assert form.status_code == 200 and 'value="Spring referrals"' in form.get_data(as_text=True)
    data = {
        **FORM,
        "name": "Spring referrals",
        "inviter_reward_amount": "2000",
        "invitee_reward_kind": "coupon",
        "invitee_reward_currency": "EUR",
        "starts_at": "",
        "hold_days": "0",
        "budget": "",
        "per_advocate_cap": "",
        "fallback_url": "https://shop.example/",
        "landing_url": "https://shop.example/welcome?utm_source=referral",
    }
    assert console.post(f"/campaigns/{campaign.id}/edit", data=data).status_code == 302
    session.refresh(campaign)
    assert campaign.inviter_reward_amount == 2000 and campaign.status == "active"
    fields = session.scalars(
        select(CampaignAudit.field).where(CampaignAudit.campaign_id == campaign.id)
    ).all()
    assert "inviter_reward" in fields


def test_preview_renders_the_invitation_as_typed(console, shop):
    console.sign_in("manager")
    response = console.post("/campaigns/preview", data=FORM, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "€15.00 off" in html and "€10.00 credit" in html
    assert "Alex gets EUR 10 credit when you buy." in html
    # even a half-typed form previews
    response = console.post("/campaigns/preview", data={"invitee_reward_amount": "x"}, htmx=True)
    assert response.status_code == 200


def test_status_change_asks_first_then_is_audited(console, session, shop):
    campaign = make_campaign(session, shop.id)
    user = console.sign_in("manager")
    ask = console.get(f"/campaigns/{campaign.id}/status/paused")
    assert ask.status_code == 200 and "Yes, pause the campaign" in ask.get_data(as_text=True)
    session.refresh(campaign)
    assert campaign.status == "active"  # asking changes nothing
    assert console.get(f"/campaigns/{campaign.id}/status/draft").status_code == 404
    done = console.post(f"/campaigns/{campaign.id}/status", data={"status": "paused"})
    assert done.status_code == 302
    session.refresh(campaign)
    assert campaign.status == "paused"
    entry = session.scalars(
        select(CampaignAudit).where(
            CampaignAudit.campaign_id == campaign.id, CampaignAudit.field == "status"
        )
    ).one()
    assert (entry.old_value, entry.new_value, entry.staff_user_id) == ("active", "paused", user.id)


def test_illegal_status_change_is_refused_with_the_reason(console, session, shop):
    campaign = make_campaign(session, shop.id, status="ended")
    console.sign_in("manager")
    response = console.post(f"/campaigns/{campaign.id}/status", data={"status": "active"})
    assert response.status_code == 302
    session.refresh(campaign)
    assert campaign.status == "ended"
    page = console.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "ended campaign is final" in page


@pytest.mark.parametrize("role", ["viewer", "reviewer"])
def test_readers_see_campaigns_but_cannot_change_them(console, session, shop, role):
    campaign = make_campaign(session, shop.id)
    console.sign_in(role)
    listing = console.get("/campaigns/")
    assert listing.status_code == 200 and "Spring referrals" in listing.get_data(as_text=True)
    assert "New campaign" not in listing.get_data(as_text=True)
    assert console.get(f"/campaigns/{campaign.id}/audit").status_code == 200
    assert console.get("/campaigns/new").status_code == 403
    assert console.post("/campaigns/", data=FORM).status_code == 403
    assert console.post(f"/campaigns/{campaign.id}/edit", data=FORM).status_code == 403
    assert (
        console.post(f"/campaigns/{campaign.id}/status", data={"status": "ended"}).status_code
        == 403
    )
    assert console.post("/campaigns/preview", data=FORM, htmx=True).status_code == 403
    session.refresh(campaign)
    assert campaign.status == "active" and len(_campaigns(session, shop.id)) == 1


def test_another_workspaces_campaign_is_not_found(console, session, shop, other_workspace):
    theirs = make_campaign(session, other_workspace.id)
    console.sign_in("owner")
    for url in (
        f"/campaigns/{theirs.id}",
        f"/campaigns/{theirs.id}/edit",
        f"/campaigns/{theirs.id}/audit",
        f"/campaigns/{theirs.id}/status/paused",
        f"/campaigns/{theirs.id}/kpis.csv",
    ):
        assert console.get(url).status_code == 404, url
    response = console.post(f"/campaigns/{theirs.id}/status", data={"status": "ended"})
    assert response.status_code == 404
    session.refresh(theirs)
    assert theirs.status == "active"


def test_post_without_csrf_token_is_refused(console, session, shop):
    console.sign_in("owner")
    response = console.open("/campaigns/", method="POST", data=FORM)
    assert response.status_code == 400
    assert _campaigns(session, shop.id) == []
