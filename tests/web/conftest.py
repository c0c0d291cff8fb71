"""Fixtures of the public pages: a live campaign on shop.example, a link, fresh rate limits."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import reset_rate_limits
from tests.factories import allow_domains, enroll, make_campaign, put_customers

fresh_rate_limits = pytest.fixture(autouse=True)(reset_rate_limits)


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
