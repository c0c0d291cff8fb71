"""Small helpers to build test data through the real services and the real API."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import delete, select
from werkzeug.test import TestResponse

from advocacy import create_app
from advocacy.campaigns.models import Campaign, CampaignAudit, Enrollment
from advocacy.console.models import Membership, StaffToken
from advocacy.customers.models import Customer
from advocacy.extensions import db
from advocacy.links.models import Click, ReferralLink
from advocacy.web.clickpath import CLICK_RECORDER
from advocacy.workspaces import service
from advocacy.workspaces.models import ApiKey, Workspace

NOW = datetime.now(UTC)


def ago(days: float) -> str:
    """An ISO timestamp ``days`` before the test run started."""
    return (NOW - timedelta(days=days)).isoformat()


def assert_problem(response: Any, status: int, field: str | None = None) -> None:
    """An ``application/problem+json`` answer (RFC 9457) with this status, naming ``field``
    among its ``errors`` when given."""
    assert response.status_code == status, response.json
    assert response.content_type == "application/problem+json"
    body = response.json
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    assert body["detail"]
    assert b"<html" not in response.data.lower()
    if field is not None:
        assert field in body["errors"], body


@dataclass
class WorkspaceHandle:
    id: int
    name: str
    admin_key: str

    def key(self, session: Any, *scopes: str) -> str:
        issued = service.create_api_key(
            session, workspace_id=self.id, name="test", scopes=list(scopes)
        )
        session.commit()
        return issued.secret


def make_workspace(session: Any, name: str) -> WorkspaceHandle:
    workspace = service.create_workspace(session, name=name)
    issued = service.create_api_key(
        session, workspace_id=workspace.id, name="admin", scopes=["admin"]
    )
    session.commit()
    return WorkspaceHandle(workspace.id, workspace.name, issued.secret)


class ApiClient:
    """The Flask test client with a bearer key on every call."""

    def __init__(self, client: FlaskClient, key: str) -> None:
        self.client = client
        self.key = key

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", **(extra or {})}

    def get(self, url: str, **kw: Any) -> TestResponse:
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url: str, **kw: Any) -> TestResponse:
        return self.client.post(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, url: str, **kw: Any) -> TestResponse:
        return self.client.put(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url: str, **kw: Any) -> TestResponse:
        return self.client.patch(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, url: str, **kw: Any) -> TestResponse:
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)


def customer(external_id: str, **fields: Any) -> dict[str, Any]:
    body = {"email": f"{external_id}@example.com", "first_name": external_id.title()}
    body.update(fields)
    return body


def put_customers(api: ApiClient, *external_ids: str) -> None:
    for external_id in external_ids:
        response = api.put(f"/api/v1/customers/{external_id}", json=customer(external_id))
        assert response.status_code == 200, response.json


def overlapping_fan_groups(api: ApiClient, days_ago: Any) -> None:
    """Two groups of fans (NPS 10, recent purchases). ``big-0..4`` are all listened to by
    the same 30 people; ``small-0..2``, a little less active, each by 30 of their own.
    Every big fan is worth more alone (``top`` piles into them), but a second big fan
    mostly re-persuades the same people, so ``coverage`` adds the small fans' audiences.
    ``days_ago(n)`` gives an ISO timestamp n days back.
    """
    big = [f"big-{i}" for i in range(5)]
    small = [f"small-{i}" for i in range(3)]
    audience = {"big": [f"aud-big-{j}" for j in range(30)]}
    for fan in small:
        audience[fan] = [f"aud-{fan}-{j}" for j in range(30)]
    people = [*big, *small, *(p for group in audience.values() for p in group)]
    lines = "".join(
        f'{{"external_id": "{p}", "email": "{p}@example.com", "consent": {{"email": true}}}}\n'
        for p in people
    )
    response = api.post(
        "/api/v1/imports?kind=customers", data=lines, content_type="application/x-ndjson"
    )
    assert response.status_code == 200 and response.json["rejected"] == 0, response.json
    events = []
    for fan, purchases in [*((f, 12) for f in big), *((f, 8) for f in small)]:
        events.append({"customer": fan, "kind": "nps", "value": 10, "occurred_at": days_ago(10)})
        events += [
            {
                "customer": fan,
                "kind": "purchase",
                "amount": 5000,
                "currency": "EUR",
                "occurred_at": days_ago(3 + j),
            }
            for j in range(purchases)
        ]
    for listener in (p for group in audience.values() for p in group):
        events.append(
            {
                "customer": listener,
                "kind": "purchase",
                "amount": 5000,
                "currency": "EUR",
                "occurred_at": days_ago(40),
            }
        )
    ties = [(p, fan) for fan in big for p in audience["big"]]
    ties += [(p, fan) for fan in small for p in audience[fan]]
    connections = [
        {
            "source": source,
            "target": target,
            "channel": "whatsapp",
            "replies": 3,
            "last_interaction_at": days_ago(5),
        }
        for source, target in ties
    ]
    for url, items in (("/api/v1/events", events), ("/api/v1/connections", connections)):
        response = api.post(url, json={"items": items})
        assert response.status_code == 200, response.json
        assert response.json["summary"]["rejected"] == 0, response.json


# --- campaigns and referral links (models directly, for the links tests) ----------------

LANDING_URL = "https://shop.example/welcome?utm_source=referral"


def allow_domains(session: Any, workspace_id: int, *domains: str) -> None:
    session.get(Workspace, workspace_id).allowed_domains = list(domains)
    session.commit()


def make_campaign(session: Any, workspace_id: int, **fields: Any) -> Any:
    """An active two-sided campaign landing on shop.example (allow the domain first)."""
    values: dict[str, Any] = {
        "name": "Spring referrals",
        "objective": "conversion",
        "status": "active",
        "inviter_reward_kind": "credit",
        "inviter_reward_amount": 1000,
        "inviter_reward_currency": "EUR",
        "invitee_reward_kind": "coupon",
        "invitee_reward_amount": 1500,
        "invitee_reward_currency": "EUR",
        "trigger_event": "purchase",
        "landing_url": LANDING_URL,
        "fallback_url": "https://shop.example/",
        "disclosure": "Your friend gets EUR 10 credit when you place your first order.",
        "translations": {},
    }
    values.update(fields)
    campaign = Campaign(workspace_id=workspace_id, **values)
    session.add(campaign)
    session.commit()
    return campaign


def enroll(session: Any, campaign: Any, customer_external_id: str) -> Any:
    customer_id = session.scalar(
        select(Customer.id).where(
            Customer.workspace_id == campaign.workspace_id,
            Customer.external_id == customer_external_id,
        )
    )
    enrollment = Enrollment(
        workspace_id=campaign.workspace_id,
        campaign_id=campaign.id,
        customer_id=customer_id,
        method="manual",
    )
    session.add(enrollment)
    session.commit()
    return enrollment


def delete_workspace(session: Any, workspace_id: int) -> None:
    """Delete a workspace committed for real (threads, live servers) with its customers,
    campaigns, links and clicks, staff memberships and invitations: what the links and
    console tests create."""
    for model in (
        Click,
        ReferralLink,
        Enrollment,
        CampaignAudit,
        Campaign,
        Customer,
        ApiKey,
        Membership,
        StaffToken,
    ):
        session.execute(delete(model).where(model.workspace_id == workspace_id))
    session.execute(delete(Workspace).where(Workspace.id == workspace_id))
    session.commit()


@contextlib.contextmanager
def committed_link(app: Any, prefix: str, channel: str = "sms") -> Iterator[dict[str, Any]]:
    """Ann's link (as the API returns it) in a live campaign on shop.example, in a workspace
    of its own committed for real (an app with its own engine, a live server), deleted
    afterwards."""
    with app.app_context():
        session = db.session
        workspace = make_workspace(session, f"{prefix}-{uuid.uuid4().hex[:8]}")
        allow_domains(session, workspace.id, "shop.example")
        api = ApiClient(app.test_client(), workspace.admin_key)
        response = api.put("/api/v1/customers/ann", json={"first_name": "Ann"})
        assert response.status_code == 200, response.json
        campaign = make_campaign(session, workspace.id)
        enroll(session, campaign, "ann")
        response = api.post(
            f"/api/v1/campaigns/{campaign.id}/links", json={"advocate": "ann", "channel": channel}
        )
        assert response.status_code == 201, response.json
        session.remove()
    try:
        yield dict(response.json)
    finally:
        write_queued_clicks(app)
        with app.app_context():
            delete_workspace(db.session, workspace.id)
            db.session.remove()


def write_queued_clicks(app: Any, attempts: int = 50) -> None:
    """Write the clicks ``app`` still holds behind their redirects (CLICK_FLUSH_MS), so
    that none lands after its workspace is deleted (clicks have no foreign keys to stop
    it); a database just restored may need a few attempts."""
    recorder = app.extensions.get(CLICK_RECORDER)
    for _ in range(attempts if recorder is not None else 0):
        try:
            recorder.flush()
            return
        except Exception:
            time.sleep(0.1)


@contextlib.contextmanager
def own_app(database_url: str, **config: Any) -> Iterator[Any]:
    """An app with an engine of its own on the test database (it commits for real, unlike
    the session's rolled-back one), disposed afterwards."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, **config})
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
