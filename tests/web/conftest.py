"""Fixtures of the public pages: a live campaign on shop.example, a link, fresh rate limits."""

from __future__ import annotations

from typing import Any

import pytest

from advocacy.extensions import limiter
from tests.factories import allow_domains, enroll, make_campaign, put_customers


@pytest.fixture(autouse=True)
def fresh_rate_limits(app: Any) -> Any:
    """Every test starts with untouched per-IP budgets (the test client is always 127.0.0.1)."""
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def campaign(session: Any, api: Any, workspace: Any) -> Any:
    allow_domains(session, workspace.id, "shop.example")
    put_customers(api, "ann", "bob")
    campaign = make_campaign(session, workspace.id)
    enroll(session, campaign, "ann")
    return campaign


@pytest.fixture
def link(api: Any, campaign: Any) -> dict[str, Any]:
    """Ann's WhatsApp link, as the API hands it out."""
    response = api.post(
        f"/api/v1/campaigns/{campaign.id}/links", json={"advocate": "ann", "channel": "whatsapp"}
    )
    assert response.status_code == 201, response.json
    return dict(response.json)
