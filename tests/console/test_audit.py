"""Decisions taken in the console name the staff member in the audit trail the API keeps."""

from __future__ import annotations

from flask_login import login_user
from sqlalchemy import select

from advocacy.campaigns import service as campaigns
from advocacy.campaigns.models import CampaignAudit
from advocacy.console.access import staff_actor
from tests.console.conftest import make_staff
from tests.factories import allow_domains, make_campaign


def test_staff_actor_names_the_signed_in_person(app, session, workspace):
    user = make_staff(session, "m@staff.example", workspace.id, "manager")
    with app.test_request_context():
        login_user(user)
        assert staff_actor() == {"api_key_id": None, "staff_user_id": user.id}


def test_a_campaign_change_by_staff_is_audited_with_them(api, session, workspace):
    allow_domains(session, workspace.id, "shop.example")
    user = make_staff(session, "m@staff.example", workspace.id, "manager")
    campaign = make_campaign(session, workspace.id, status="draft")
    campaigns.update_campaign(
        session,
        workspace_id=workspace.id,
        campaign_id=campaign.id,
        changes={"status": "active"},
        api_key_id=None,
        staff_user_id=user.id,
    )
    session.commit()
    row = session.scalars(
        select(CampaignAudit).where(
            CampaignAudit.campaign_id == campaign.id, CampaignAudit.field == "status"
        )
    ).one()
    assert (row.api_key_id, row.staff_user_id) == (None, user.id)
    trail = api.get(f"/api/v1/campaigns/{campaign.id}/audit").json["items"]
    assert trail[-1]["staff_user_id"] == user.id
