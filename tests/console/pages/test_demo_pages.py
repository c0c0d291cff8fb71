"""The console on the demo workspace: what a newcomer sees after ``make run``."""

from __future__ import annotations

import re
from typing import Any

from advocacy.campaigns.models import Campaign
from advocacy.demo.population import PLANTED
from advocacy.workspaces import service
from tests.console.pages.test_advocates_page import api_ids, row_ids
from tests.factories import ApiClient


def demo_api(session: Any, client: Any, workspace_id: int) -> ApiClient:
    issued = service.create_api_key(session, workspace_id=workspace_id, name="t", scopes=["read"])
    session.commit()
    return ApiClient(client, issued.secret)


def test_the_apis_top_advocates_lead_and_the_detractor_is_not_near_the_top(
    console: Any, demo: Any, session: Any, client: Any
) -> None:
    console.sign_in("viewer", workspace_id=demo.id)
    shown = row_ids(console.get("/advocates/?show=all").get_data(as_text=True))
    top = api_ids(demo_api(session, client, demo.id), "objective=conversion&limit=10")
    assert shown[:10] == top
    assert PLANTED["loud_detractor"] not in shown[:50]
    assert set(PLANTED["quiet_promoters"]) <= set(shown[:50])


def test_the_selection_sets_the_loud_detractor_beside_it_not_in_it(
    console: Any, demo: Any, demo_campaign_id: int
) -> None:
    console.sign_in("manager", workspace_id=demo.id)
    url = f"/advocates/selection?campaign={demo_campaign_id}&k=10"
    html = console.get(url).get_data(as_text=True)
    picks, contrast = html.split("largest follower counts, for contrast")
    assert PLANTED["loud_detractor"] not in picks[picks.index("The picks") :]
    assert f'<span class="id">{PLANTED["loud_detractor"]}</span>' in contrast


def test_the_overview_lists_the_demo_campaign(
    console: Any, demo: Any, demo_campaign_id: int, session: Any
) -> None:
    console.sign_in("viewer", workspace_id=demo.id)
    html = console.get("/?days=90").get_data(as_text=True)
    campaign = session.get(Campaign, demo_campaign_id)
    assert campaign.status == "ended"  # 30 days ago, after 120 days of traffic
    row = html[html.index(campaign.name) :]
    first_cell = r'.*?<td class="num">([\d,]+)<br><span class="change change-(\w+)">'
    clicks = re.match(first_cell, row, re.S)
    assert clicks and int(clicks.group(1).replace(",", "")) > 0
    assert clicks.group(2) == "down"  # it ended: fewer clicks than the 90 days before
