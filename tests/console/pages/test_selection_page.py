"""Selection under Advocates: what enrolling by a strategy enrolls, beside the largest
audiences, and enrolling it in one action."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.campaigns.models import Enrollment
from advocacy.customers.models import Customer
from tests.factories import ApiClient, allow_domains, make_campaign

PICKS = re.compile(
    r'<td class="num">(\d+)</td>\s*<th scope="row"><a [^>]*>[^<]*</a> '
    r'<span class="id">([^<]+)</span>'
)


def picks(html: str) -> list[str]:
    return [external_id for _, external_id in PICKS.findall(html)]


def enrolled(session: Any, campaign: Any) -> list[tuple[str, int | None, int | None]]:
    rows = session.execute(
        select(Customer.external_id, Enrollment.position, Enrollment.enrolled_by_staff_id)
        .join(Customer, Customer.id == Enrollment.customer_id)
        .where(Enrollment.campaign_id == campaign.id)
        .order_by(Enrollment.position)
    )
    return [tuple(row) for row in rows]


@pytest.mark.parametrize("role", ["viewer", "reviewer"])
def test_roles_without_campaigns_cannot_select(console: Any, campaign: Any, role: str) -> None:
    console.sign_in(role)
    assert console.get(f"/advocates/selection?campaign={campaign.id}").status_code == 403
    assert "Select advocates" not in console.get("/advocates/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["viewer", "reviewer"])
def test_roles_without_campaigns_cannot_enroll(
    console: Any, campaign: Any, session: Any, role: str
) -> None:
    console.sign_in(role)
    data = {"campaign": campaign.id, "strategy": "coverage", "k": 3}
    assert console.post("/advocates/selection/enroll", data=data).status_code == 403
    assert enrolled(session, campaign) == []


def test_the_preview_shows_what_the_api_selection_chooses(
    console: Any, campaign: Any, api: ApiClient
) -> None:
    console.sign_in("manager")
    html = console.get(f"/advocates/selection?campaign={campaign.id}&k=3").get_data(as_text=True)
    chosen = api.post("/api/v1/advocates/selection", json={"k": 3, "strategy": "coverage"})
    assert picks(html) == [a["external_id"] for a in chosen.json["advocates"]]


def test_the_largest_audiences_are_shown_with_their_detractor(console: Any, campaign: Any) -> None:
    console.sign_in("manager")
    html = console.get(f"/advocates/selection?campaign={campaign.id}&k=3").get_data(as_text=True)
    contrast = html[html.index("largest follower counts, for contrast") :]
    assert re.search(r'<span class="id">loud</span>.*?No: detractor', contrast, re.S)
    summary = html[html.index("Detractors among the advocates") :]
    assert re.search(r'<td class="num">0</td><td class="num">1</td>', summary)


def test_a_manager_enrolls_the_previewed_set_in_one_action(
    console: Any, campaign: Any, session: Any
) -> None:
    user = console.sign_in("manager")
    url = f"/advocates/selection?campaign={campaign.id}&strategy=top&k=4"
    shown = picks(console.get(url).get_data(as_text=True))
    data = {"campaign": campaign.id, "strategy": "top", "k": 4}
    response = console.post("/advocates/selection/enroll", data=data, follow_redirects=True)
    assert "Enrolled 4 advocates by top" in response.get_data(as_text=True)
    assert enrolled(session, campaign) == [(e, i + 1, user.id) for i, e in enumerate(shown)]


def test_enrolling_without_the_csrf_token_is_refused(
    console: Any, campaign: Any, session: Any
) -> None:
    console.sign_in("manager")
    data = {"campaign": campaign.id, "strategy": "coverage", "k": 3}
    response = console.open("/advocates/selection/enroll", method="POST", data=data)
    assert response.status_code == 400
    assert enrolled(session, campaign) == []


def test_another_workspaces_campaign_is_not_found(
    console: Any, campaign: Any, other_workspace: Any, session: Any
) -> None:
    allow_domains(session, other_workspace.id, "shop.example")
    theirs = make_campaign(session, other_workspace.id)
    console.sign_in("owner")
    assert console.get(f"/advocates/selection?campaign={theirs.id}").status_code == 404
    data = {"campaign": theirs.id, "strategy": "top", "k": 2}
    assert console.post("/advocates/selection/enroll", data=data).status_code == 404
    assert enrolled(session, theirs) == []


def test_a_bad_k_is_explained(console: Any, campaign: Any) -> None:
    console.sign_in("manager")
    response = console.get(f"/advocates/selection?campaign={campaign.id}&k=0")
    assert response.status_code == 422
