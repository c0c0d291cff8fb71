"""The Advocates page: the ranking as the API ranks it, filters, paging, weights, CSV."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from advocacy.console import ranking
from tests.console.pages.conftest import FRIENDS
from tests.factories import ApiClient, customer

ROW_IDS = re.compile(r'<span class="id">([^<]+)</span>')


def row_ids(html: str) -> list[str]:
    """The advocates' ids in the order the table shows them."""
    return ROW_IDS.findall(html)


def api_ids(api: ApiClient, query: str) -> list[str]:
    response = api.get(f"/api/v1/advocates?{query}")
    assert response.status_code == 200, response.json
    return [item["external_id"] for item in response.json["items"]]


@pytest.mark.parametrize("role", ["owner", "manager", "reviewer", "viewer"])
def test_every_role_reads_the_ranking(console: Any, ranked: Any, role: str) -> None:
    console.sign_in(role)
    response = console.get("/advocates/")
    assert response.status_code == 200
    assert row_ids(response.get_data(as_text=True))


def test_a_signed_out_visitor_is_sent_to_sign_in(console: Any, ranked: Any) -> None:
    response = console.get("/advocates/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_rows_come_in_the_apis_rank_order(console: Any, ranked: Any, api: ApiClient) -> None:
    console.sign_in("viewer")
    html = console.get("/advocates/?objective=awareness").get_data(as_text=True)
    assert row_ids(html) == api_ids(api, "objective=awareness&eligible=true&limit=50")


def test_the_detractor_is_shown_ineligible_with_the_gate_that_fired(
    console: Any, ranked: Any
) -> None:
    console.sign_in("viewer")
    html = console.get("/advocates/?show=all").get_data(as_text=True)
    assert row_ids(html)[-1] == "loud"
    row = html[html.rindex('<tr class="ineligible">') :]
    assert "No: detractor nps" in row
    assert "5,000" in row  # the audience, shown for contrast


def test_eligible_only_leaves_the_detractor_out(console: Any, ranked: Any) -> None:
    console.sign_in("viewer")
    assert "loud" not in row_ids(console.get("/advocates/").get_data(as_text=True))


def test_search_finds_by_id_and_by_name(console: Any, ranked: Any, api: ApiClient) -> None:
    api.put("/api/v1/customers/friend-3", json=customer("friend-3", first_name="Zelda"))
    console.sign_in("viewer")
    assert row_ids(console.get("/advocates/?q=iend-2").get_data(as_text=True)) == ["friend-2"]
    assert row_ids(console.get("/advocates/?q=zeld").get_data(as_text=True)) == ["friend-3"]


def test_sorting_by_followers_puts_the_largest_audience_first(console: Any, ranked: Any) -> None:
    console.sign_in("viewer")
    ids = row_ids(console.get("/advocates/?show=all&sort=followers").get_data(as_text=True))
    assert ids == ["loud", *reversed(FRIENDS)]


@pytest.mark.parametrize("sort", ["rank", "engagement"])
def test_pages_follow_each_other_without_gap_or_overlap(
    console: Any, ranked: Any, monkeypatch: pytest.MonkeyPatch, sort: str
) -> None:
    console.sign_in("viewer")
    everyone = row_ids(console.get(f"/advocates/?show=all&sort={sort}").get_data(as_text=True))
    monkeypatch.setattr(ranking, "PAGE_SIZE", 4)
    seen: list[str] = []
    url = f"/advocates/?show=all&sort={sort}"
    while url:
        html = console.get(url).get_data(as_text=True)
        seen += row_ids(html)
        found = re.search(r'<a href="([^"]*cursor=[^"]*)"[^>]*>Next page', html)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert seen == everyone and len(everyone) == len(FRIENDS) + 1


def test_sliders_rerank_in_place_as_the_api_weights_do(
    console: Any, ranked: Any, api: ApiClient
) -> None:
    console.sign_in("viewer")
    sliders = "&".join(
        f"w_{name}={100 if name == 'reach' else 0}" for name in ranking.COMPONENT_NAMES
    )
    response = console.get(f"/advocates/?custom=on&{sliders}", htmx=True)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="results"')  # the fragment only
    assert row_ids(html) == api_ids(api, "eligible=true&limit=50&weights=reach:1")


def test_a_bad_filter_is_explained(console: Any, ranked: Any) -> None:
    console.sign_in("viewer")
    response = console.get("/advocates/?objective=fame")
    assert response.status_code == 422
    assert "Check the filters" in response.get_data(as_text=True)


def test_a_viewer_exports_the_rows_shown(console: Any, ranked: Any) -> None:
    console.sign_in("viewer")
    shown = row_ids(console.get("/advocates/?show=all&sort=followers").get_data(as_text=True))
    response = console.get("/advocates/export.csv?show=all&sort=followers")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["external_id"] for row in rows] == shown
    assert {"score", "engagement", "reasons", "gates", "followers"} <= set(rows[0])
    assert rows[0]["gates"].startswith("detractor_nps") and rows[0]["eligible"] == "no"


def test_exported_names_that_a_spreadsheet_would_run_are_made_inert(
    console: Any, ranked: Any, api: ApiClient
) -> None:
    api.put("/api/v1/customers/friend-3", json=customer("friend-3", first_name="=HYPERLINK(1)"))
    console.sign_in("viewer")
    rows = csv.DictReader(io.StringIO(console.get("/advocates/export.csv?q=friend-3").text))
    assert [row["name"] for row in rows] == ["'=HYPERLINK(1)"]


def test_the_person_page_explains_why_not_eligible(console: Any, ranked: Any) -> None:
    console.sign_in("viewer")
    html = console.get("/advocates/loud").get_data(as_text=True)
    assert "gated out by detractor nps" in html
    assert "Who listens to them" in html and "friend-0" in html


def test_another_workspaces_customer_is_not_found(
    console: Any, ranked: Any, other_workspace: Any, client: Any
) -> None:
    other = ApiClient(client, other_workspace.admin_key)
    assert other.put("/api/v1/customers/theirs", json=customer("theirs")).status_code == 200
    console.sign_in("owner")
    assert console.get("/advocates/theirs").status_code == 404


def _issue(console: Any, campaign: Any, advocate: str = "friend-1", **kw: Any) -> Any:
    data = {"campaign_id": campaign.id, "channel": "email", **kw.pop("data", {})}
    return console.post(f"/advocates/{advocate}/links", data=data, **kw)


@pytest.mark.parametrize("role", ["viewer", "reviewer"])
def test_a_role_without_write_cannot_issue_a_link(
    console: Any, campaign: Any, api: ApiClient, role: str
) -> None:
    api.post(f"/api/v1/campaigns/{campaign.id}/enrollments", json={"customers": ["friend-1"]})
    console.sign_in(role)
    assert _issue(console, campaign).status_code == 403
    assert "Issue a referral link" not in console.get("/advocates/friend-1").get_data(as_text=True)


def test_a_manager_issues_the_link_the_api_issues(
    console: Any, campaign: Any, api: ApiClient
) -> None:
    api.post(f"/api/v1/campaigns/{campaign.id}/enrollments", json={"customers": ["friend-1"]})
    console.sign_in("manager")
    response = _issue(console, campaign, follow_redirects=True)
    html = response.get_data(as_text=True)
    issued = re.search(r"Issued: (\S+/r/[\w.-]+)", html)
    assert issued, html
    same = api.post(
        f"/api/v1/campaigns/{campaign.id}/links", json={"advocate": "friend-1", "channel": "email"}
    )
    assert same.status_code == 200  # the API answers with the link the console issued
    assert same.json["url"] == issued.group(1)


def test_issuing_for_an_advocate_not_enrolled_says_why(console: Any, campaign: Any) -> None:
    console.sign_in("manager")
    html = _issue(console, campaign, follow_redirects=True).get_data(as_text=True)
    assert "Not enrolled in this campaign" in html or "not enrolled" in html


def test_issuing_without_the_csrf_token_is_refused(console: Any, campaign: Any) -> None:
    console.sign_in("manager")
    response = console.open(
        "/advocates/friend-1/links",
        method="POST",
        data={"campaign_id": campaign.id, "channel": "email"},
    )
    assert response.status_code == 400
