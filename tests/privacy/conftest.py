"""A person who touched every feature, as advocate and as invitee, for the erasure and
export tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.customers.models import Customer
from advocacy.links.clicks import hash_ip
from advocacy.types import utcnow
from advocacy.webhooks.service import dispatch_events
from tests.experiments.helpers import ONE_WAY, TWO_WAY, definition, experiment_url, variant_of
from tests.factories import allow_domains, enroll, make_campaign
from tests.rewards.helpers import click, issue_link, purchase, report

CRM_ID = "zed-42"
EMAIL = "Zebediah.Quillfeather+Shop@Example.org"
EMAIL_NORMALIZED = "zebediah.quillfeather@example.org"  # case, +tag
FIRST, LAST = "Zebediah", "Quillfeather"
IP = "203.0.113.77"
USER_AGENT = "ZedPhone/9.9 (Quillfeather edition)"
OTHER_IP = "198.51.100.5"


@dataclass
class Person:
    id: int
    campaign_id: int
    own_link: dict[str, Any]  # the link they share
    invitation: dict[str, Any]  # Ann's personal invitation addressed to their email
    invitation_by_id: dict[str, Any]  # and another one, addressed to their CRM id
    visitor_id: str  # their browser's first-party visitor cookie
    ip_hash: str

    def traces(self) -> dict[str, str]:
        """What must not be findable anywhere after erasure."""
        return {
            "email": EMAIL,
            "normalised email": EMAIL_NORMALIZED,
            "first name": FIRST,
            "last name": LAST,
            "CRM id": CRM_ID,
            "IP hash": self.ip_hash,
            "user agent": USER_AGENT,
            "visitor id": self.visitor_id,
        }


def _put(api: Any, external_id: str, **fields: Any) -> None:
    body = {"email": f"{external_id}@example.com", "consent": {"email": True}, **fields}
    response = api.put(f"/api/v1/customers/{external_id}", json=body)
    assert response.status_code == 200, response.json


def _ok(response: Any, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200,)), response.json
    return response.json


def _crm_data(api: Any) -> None:
    _put(api, "ann", first_name="Ann")
    _put(api, "bob", first_name="Bob")
    _put(api, "amy", first_name="Amy")
    _put(
        api,
        CRM_ID,
        email=EMAIL,
        first_name=FIRST,
        last_name=LAST,
        locale="en-GB",
        followers=42,
        attributes={"nickname": f"{FIRST} Q"},
    )
    events = [
        {"customer": CRM_ID, "kind": "nps", "value": 10, "occurred_at": "2024-05-01T12:00:00Z"},
        {"customer": CRM_ID, "kind": "login", "occurred_at": "2024-05-02T12:00:00Z"},
    ]
    _ok(api.post("/api/v1/events", json={"items": events}))
    mention = {
        "external_id": "tw-1",
        "channel": "x",
        "customer": CRM_ID,
        "text": f"{FIRST} {LAST} here: I love it",
        "occurred_at": "2024-05-01T12:00:00Z",
    }
    _ok(api.post("/api/v1/mentions", json={"items": [mention]}))
    ties = [
        {"source": CRM_ID, "target": "ann", "channel": "x", "likes": 3},
        {"source": "bob", "target": CRM_ID, "channel": "x", "replies": 1},
    ]
    _ok(api.post("/api/v1/connections", json={"items": ties}))
    _ok(api.post("/api/v1/advocates/rank"), 201)


@pytest.fixture
def person(app: Any, api: Any, client: Any, session: Any, workspace: Any) -> Person:
    """Zed: CRM data, ranked, enrolled (experiment assigned), sharing a link that a friend
    clicked and bought through (inviter rewards), invited personally by Ann, and a buyer
    through Ann's link from their own phone (invitee rewards, retried with the same
    Idempotency-Key); webhook events in the outbox and dispatched to a subscription."""
    allow_domains(session, workspace.id, "shop.example")
    _crm_data(api)
    campaign = make_campaign(session, workspace.id)
    # Zed's invitee reward is paid by the variant of Ann (the inviter), which the hash of
    # the campaign id decides; ids differ between runs on PostgreSQL, so order the arms
    # such that Ann's bucket is the two-way one (it pays the invitee).
    arms = [ONE_WAY, TWO_WAY] if variant_of(campaign.id, "ann") == "two_way" else [TWO_WAY, ONE_WAY]
    _ok(api.put(experiment_url(campaign.id), json=definition(variants=arms)), 200, 201)
    for advocate in ("ann", CRM_ID):
        enroll(session, campaign, advocate)
    _ok(
        api.post(
            "/api/v1/webhooks", json={"url": "https://hooks.shop.example/hooks", "event_types": []}
        ),
        201,
    )
    own_link = issue_link(api, campaign.id, CRM_ID)
    invitation = issue_link(api, campaign.id, "ann", channel="sms", invitee=EMAIL)
    by_id = issue_link(api, campaign.id, "ann", channel="whatsapp", invitee=CRM_ID)
    ann_link = issue_link(api, campaign.id, "ann")
    share = {
        "share_id": "share-1",
        "campaign_id": campaign.id,
        "advocate": CRM_ID,
        "channel": "x",
        "link_id": own_link["id"],
        "impressions": 40,
        "occurred_at": utcnow().isoformat(),
    }
    _ok(api.post("/api/v1/shares", json={"items": [share]}))

    # A friend (Amy) follows Zed's link and buys: Zed is the inviter.
    friend = app.test_client()
    friend.environ_base.update(REMOTE_ADDR=OTHER_IP, HTTP_USER_AGENT="AmyTablet/1.0")
    click(friend, own_link["token"])
    _ok(report(api, purchase("order-a1", "amy", ref=own_link["token"])), 201)

    # Zed follows Ann's link on their phone and buys: Zed is the invitee.
    phone = app.test_client()
    phone.environ_base.update(REMOTE_ADDR=IP, HTTP_USER_AGENT=USER_AGENT)
    cookies = click(phone, ann_link["token"])
    body = purchase(
        "order-z1",
        CRM_ID,
        email=EMAIL,
        ref=ann_link["token"],
        visitor_id=cookies["adv_vid"],
        ip=IP,
        user_agent=USER_AGENT,
    )
    key = str(uuid.uuid4())
    first = _ok(report(api, body, key), 201)
    assert first["attributed"], first
    replay = report(api, body, key)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    dispatch_events(session, now=utcnow())
    session.commit()
    person_id = session.scalar(select(Customer.id).where(Customer.external_id == CRM_ID))
    return Person(
        id=person_id,
        campaign_id=campaign.id,
        own_link=own_link,
        invitation=invitation,
        invitation_by_id=by_id,
        visitor_id=cookies["adv_vid"],
        ip_hash=hash_ip(IP, app.config["SECRET_KEY"].encode()),
    )
