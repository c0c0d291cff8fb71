"""Helpers of the rewards tests: a live referral program, clicks, conversion reports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from http.cookies import SimpleCookie
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from advocacy.types import utcnow
from tests.factories import ApiClient, allow_domains, enroll, make_campaign, put_customers


@dataclass
class Program:
    """An active campaign, Ann enrolled in it, and Ann's open link."""

    workspace_id: int
    campaign: Any
    link: dict[str, Any]

    @property
    def token(self) -> str:
        return str(self.link["token"])


def start_program(
    session: Any, api: ApiClient, workspace_id: int, *advocates: str, **campaign: Any
) -> Program:
    allow_domains(session, workspace_id, "shop.example")
    put_customers(api, *(advocates or ("ann",)))
    row = make_campaign(session, workspace_id, **campaign)
    for advocate in advocates or ("ann",):
        enroll(session, row, advocate)
    return Program(workspace_id, row, issue_link(api, row.id, (advocates or ("ann",))[0]))


def issue_link(
    api: ApiClient, campaign_id: int, advocate: str, channel: str = "email", **extra: Any
) -> dict[str, Any]:
    response = api.post(
        f"/api/v1/campaigns/{campaign_id}/links",
        json={"advocate": advocate, "channel": channel, **extra},
    )
    assert response.status_code in (200, 201), response.json
    return dict(response.json)


def click(client: FlaskClient, token: str) -> dict[str, str]:
    """Follow a link as a browser would; the cookies it set (adv_vid, adv_ref)."""
    response = client.get(f"/r/{token}")
    assert response.status_code == 302, response.data
    cookies: dict[str, str] = {}
    for header in response.headers.getlist("Set-Cookie"):
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(header)
        cookies.update({name: morsel.value for name, morsel in parsed.items()})
    return cookies


def iso(moment: datetime) -> str:
    return moment.isoformat()


def purchase(
    event_id: str = "order-1",
    invitee: str = "zoe",
    *,
    email: str | None = None,
    amount: int = 5000,
    occurred_at: datetime | None = None,
    **evidence: Any,
) -> dict[str, Any]:
    return {
        "event": "purchase",
        "event_id": event_id,
        "invitee": {"external_id": invitee, "email": email or f"{invitee}@example.net"},
        "amount": amount,
        "currency": "EUR",
        "occurred_at": iso(occurred_at or utcnow()),
        **evidence,
    }


def signup(
    event_id: str = "signup-1",
    invitee: str = "zoe",
    *,
    email: str | None = None,
    occurred_at: datetime | None = None,
    **evidence: Any,
) -> dict[str, Any]:
    return {
        "event": "signup",
        "event_id": event_id,
        "invitee": {"external_id": invitee, "email": email or f"{invitee}@example.net"},
        "occurred_at": iso(occurred_at or utcnow()),
        **evidence,
    }


def report(api: ApiClient, body: dict[str, Any], key: str | None = None) -> TestResponse:
    return api.post(
        "/api/v1/conversions",
        json=body,
        headers={"Idempotency-Key": key or str(uuid.uuid4())},
    )


def states(response: TestResponse) -> dict[str, str]:
    return {r["role"]: r["state"] for r in response.json["rewards"]}
