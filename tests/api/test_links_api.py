"""POST /api/v1/campaigns/{id}/links (idempotent), GET and DELETE /api/v1/links/{id}.

Decisions under test: an advocate who is unknown or not enrolled is 422 (the request
names someone who cannot have a link); a withdrawn advocate, a campaign that is not live
and a revoked link are 409 (the state of existing resources forbids it).
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from advocacy import create_app
from advocacy.extensions import db
from advocacy.links.models import ReferralLink
from advocacy.types import utcnow
from tests.factories import (
    ApiClient,
    allow_domains,
    delete_workspace,
    enroll,
    make_campaign,
    make_workspace,
    put_customers,
)


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _links_url(campaign_id: int) -> str:
    return f"/api/v1/campaigns/{campaign_id}/links"


@pytest.fixture
def campaign(session, api, workspace):
    allow_domains(session, workspace.id, "shop.example")
    put_customers(api, "ann", "bob", "cat")
    campaign = make_campaign(session, workspace.id)
    enroll(session, campaign, "ann")
    return campaign


def _ask(api, campaign, **body):
    return api.post(_links_url(campaign.id), json={"advocate": "ann", "channel": "email", **body})


# --- issuing -------------------------------------------------------------------------


def test_new_link_is_created_with_urls_token_and_expiry(api, campaign):
    response = _ask(api, campaign)

    assert response.status_code == 201
    body = response.json
    assert body["advocate"] == "ann"
    assert body["channel"] == "email"
    assert body["invitee"] is None
    assert body["url"] == f"http://localhost/r/{body['token']}"
    assert body["invitation_url"] == f"http://localhost/i/{body['token']}"
    assert body["revoked_at"] is None
    assert body["expires_at"] > body["created_at"]


def test_link_path_is_shorter_than_64_characters(api, campaign):
    token = _ask(api, campaign).json["token"]

    assert len(f"/r/{token}") < 64


def test_same_request_returns_the_same_link(api, campaign):
    first = _ask(api, campaign)

    again = _ask(api, campaign)

    assert again.status_code == 200
    assert again.json == first.json


def test_another_channel_gets_another_link(api, campaign):
    email = _ask(api, campaign).json

    sms = _ask(api, campaign, channel="sms")

    assert sms.status_code == 201
    assert sms.json["id"] != email["id"]


def test_link_expires_with_the_campaign(api, session, campaign):
    campaign.ends_at = utcnow() + timedelta(days=10)
    session.commit()

    body = _ask(api, campaign).json

    assert _time(body["expires_at"]) == campaign.ends_at


def test_link_without_campaign_end_expires_after_the_maximum_age(api, campaign):
    body = _ask(api, campaign).json

    lifetime = _time(body["expires_at"]) - _time(body["created_at"])
    assert lifetime == timedelta(days=400)


def test_public_base_url_builds_the_link_urls(api, app, campaign, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://go.shop.example")

    body = _ask(api, campaign).json

    assert body["url"] == f"https://go.shop.example/r/{body['token']}"


def test_expired_link_is_renewed_in_place(api, session, campaign, monkeypatch):
    first = _ask(api, campaign).json
    link = session.get(ReferralLink, first["id"])
    link.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    later = int(time.time()) + 5  # tokens carry whole seconds
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)

    again = _ask(api, campaign)

    assert again.status_code == 200
    assert again.json["id"] == first["id"]
    assert _time(again.json["expires_at"]) > utcnow()
    assert again.json["token"] != first["token"]


def test_link_signed_with_a_removed_key_is_re_signed(api, app, client, campaign, monkeypatch):
    first = _ask(api, campaign).json
    monkeypatch.setitem(app.config, "REFERRAL_SIGNING_KEYS", ["replacement-key-0123456789abcdef"])

    again = _ask(api, campaign).json

    assert again["id"] == first["id"]
    assert again["token"] != first["token"]
    assert client.get(f"/r/{again['token']}").status_code == 302
    assert client.get(f"/r/{first['token']}").status_code == 404


def test_unknown_fields_are_rejected(api, campaign):
    response = _ask(api, campaign, owner="someone")

    assert response.status_code == 422
    assert "owner" in response.json["errors"]


def test_channel_must_be_a_slug(api, campaign):
    response = _ask(api, campaign, channel="Face Book")

    assert response.status_code == 422
    assert "channel" in response.json["errors"]


# --- personal invitations --------------------------------------------------------------


def test_personal_invitation_by_customer_id(api, campaign):
    response = _ask(api, campaign, invitee="bob")

    assert response.status_code == 201
    assert response.json["invitee"] == "bob"
    assert response.json["id"] != _ask(api, campaign).json["id"]


def test_personal_invitation_by_customer_id_is_idempotent(api, campaign):
    first = _ask(api, campaign, invitee="bob").json

    again = _ask(api, campaign, invitee="bob")

    assert again.status_code == 200
    assert again.json["id"] == first["id"]


def test_personal_invitation_by_email_is_normalised(api, campaign):
    first = _ask(api, campaign, invitee="Dan.Smith+promo@GoogleMail.com")

    again = _ask(api, campaign, invitee="dansmith@gmail.com")

    assert first.status_code == 201
    assert first.json["invitee"] == "dansmith@gmail.com"
    assert again.status_code == 200
    assert again.json["id"] == first.json["id"]


def test_personal_invitation_stores_who_is_invited(api, session, campaign):
    body = _ask(api, campaign, invitee="bob").json

    link = session.get(ReferralLink, body["id"])

    assert link.invitee_key.startswith("c:")
    assert link.invitee_email_normalized == "bob@example.com"


def test_invitee_neither_customer_nor_email_is_422(api, campaign):
    response = _ask(api, campaign, invitee="nobody")

    assert response.status_code == 422
    assert "invitee" in response.json["errors"]


def test_advocate_cannot_invite_themselves(api, campaign):
    by_id = _ask(api, campaign, invitee="ann")
    by_email = _ask(api, campaign, invitee="ANN@example.com")

    assert (by_id.status_code, by_email.status_code) == (422, 422)


# --- who may have a link -----------------------------------------------------------------


def test_not_enrolled_advocate_is_422(api, campaign):
    response = _ask(api, campaign, advocate="bob")

    assert response.status_code == 422
    assert response.json["errors"]["advocate"] == ["Not enrolled in this campaign."]


def test_unknown_advocate_is_422(api, campaign):
    response = _ask(api, campaign, advocate="zed")

    assert response.status_code == 422
    assert "advocate" in response.json["errors"]


def test_withdrawn_advocate_is_409(api, session, campaign):
    enrollment = enroll(session, campaign, "cat")
    enrollment.withdrawn_at = utcnow()
    session.commit()

    response = _ask(api, campaign, advocate="cat")

    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"


def test_ended_campaign_is_409(api, session, campaign):
    campaign.status = "ended"
    session.commit()

    response = _ask(api, campaign)

    assert response.status_code == 409
    assert "ended" in response.json["detail"]


def test_campaign_past_its_end_is_409(api, session, campaign):
    campaign.ends_at = utcnow() - timedelta(minutes=1)
    session.commit()

    assert _ask(api, campaign).status_code == 409


@pytest.mark.parametrize("status", ["draft", "paused"])
def test_campaign_not_live_is_409(api, session, campaign, status):
    campaign.status = status
    session.commit()

    assert _ask(api, campaign).status_code == 409


def test_unknown_campaign_is_404(api, campaign):
    response = api.post(_links_url(campaign.id + 1000), json={"advocate": "ann", "channel": "x"})

    assert response.status_code == 404


# --- workspaces and keys -----------------------------------------------------------------


def test_campaign_of_another_workspace_is_404(other_api, campaign):
    response = other_api.post(_links_url(campaign.id), json={"advocate": "ann", "channel": "x"})

    assert response.status_code == 404


def test_link_of_another_workspace_is_404(api, other_api, campaign):
    link_id = _ask(api, campaign).json["id"]

    assert other_api.get(f"/api/v1/links/{link_id}").status_code == 404
    assert other_api.delete(f"/api/v1/links/{link_id}").status_code == 404
    assert api.get(f"/api/v1/links/{link_id}").json["revoked_at"] is None


def test_without_key_is_401(client, campaign):
    response = client.post(_links_url(campaign.id), json={"advocate": "ann", "channel": "x"})

    assert response.status_code == 401


def test_read_only_key_is_403(client, session, workspace, campaign):
    reader = ApiClient(client, workspace.key(session, "read"))

    response = _ask(reader, campaign)

    assert response.status_code == 403


def test_write_key_may_issue_links(client, session, workspace, campaign):
    writer = ApiClient(client, workspace.key(session, "write"))

    assert _ask(writer, campaign).status_code == 201


# --- reading and revoking ----------------------------------------------------------------


def test_get_link_shows_it(api, campaign):
    issued = _ask(api, campaign, invitee="bob").json

    response = api.get(f"/api/v1/links/{issued['id']}")

    assert response.status_code == 200
    assert response.json == issued


def test_revoke_link(api, campaign):
    link_id = _ask(api, campaign).json["id"]

    response = api.delete(f"/api/v1/links/{link_id}")

    assert response.status_code == 204
    assert api.get(f"/api/v1/links/{link_id}").json["revoked_at"] is not None


def test_revoke_twice_is_fine(api, campaign):
    link_id = _ask(api, campaign).json["id"]
    api.delete(f"/api/v1/links/{link_id}")

    assert api.delete(f"/api/v1/links/{link_id}").status_code == 204


def test_revoked_link_is_not_handed_out_again(api, campaign):
    link_id = _ask(api, campaign).json["id"]
    api.delete(f"/api/v1/links/{link_id}")

    response = _ask(api, campaign)

    assert response.status_code == 409
    assert "revoked" in response.json["detail"]


def test_revoke_unknown_link_is_404(api, campaign):
    assert api.delete("/api/v1/links/999999").status_code == 404


def test_ids_beyond_bigint_are_404(api, campaign):
    huge = 2**64
    body = {"advocate": "ann", "channel": "x"}
    assert api.post(f"/api/v1/campaigns/{huge}/links", json=body).status_code == 404
    assert api.get(f"/api/v1/links/{huge}").status_code == 404


def test_revoke_needs_write_scope(client, session, workspace, api, campaign):
    link_id = _ask(api, campaign).json["id"]
    reader = ApiClient(client, workspace.key(session, "read"))

    assert reader.delete(f"/api/v1/links/{link_id}").status_code == 403


def test_only_one_row_per_request(api, session, campaign):
    for _ in range(3):
        _ask(api, campaign)

    rows = session.scalars(select(ReferralLink).where(ReferralLink.campaign_id == campaign.id))

    assert len(list(rows)) == 1


# --- concurrency: the same request at once still makes one link ---------------------------


@pytest.fixture
def committed(app, database_url):
    """An app with its own engine whose data is committed for real, in its own workspace."""
    real = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    with real.app_context():
        workspace = make_workspace(db.session, f"threads-{uuid.uuid4().hex[:8]}")
        allow_domains(db.session, workspace.id, "shop.example")
        put_customers(ApiClient(real.test_client(), workspace.admin_key), "ann")
        campaign = make_campaign(db.session, workspace.id)
        enroll(db.session, campaign, "ann")
        campaign_id = campaign.id
        db.session.remove()
    yield real, workspace, campaign_id
    with real.app_context():
        delete_workspace(db.session, workspace.id)
        db.session.remove()
        db.engine.dispose()


def test_concurrent_identical_requests_make_one_link(committed):
    real, workspace, campaign_id = committed
    barrier = threading.Barrier(8)

    def ask(_):
        client = ApiClient(real.test_client(), workspace.admin_key)
        barrier.wait()
        response = client.post(
            _links_url(campaign_id), json={"advocate": "ann", "channel": "email"}
        )
        return response.status_code, response.json["id"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))

    assert sorted(status for status, _ in answers) == [200] * 7 + [201]
    assert len({link_id for _, link_id in answers}) == 1
    with real.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(ReferralLink)
            .where(ReferralLink.campaign_id == campaign_id)
        )
        db.session.remove()
    assert count == 1
