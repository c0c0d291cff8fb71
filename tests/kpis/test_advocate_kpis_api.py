"""GET /api/v1/campaigns/{id}/advocates/kpis on the seeded campaign (see conftest.py)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import update

from advocacy.customers.models import Customer

URL = "/api/v1/campaigns/{}/advocates/kpis?from=2026-03-10&to=2026-03-12"


def page(api: Any, seeded: Any, extra: str = "") -> Any:
    response = api.get(URL.format(seeded.campaign.id) + extra)
    assert response.status_code == 200, response.json
    return response.json


def by_advocate(body: Any) -> dict[str, Any]:
    return {item["advocate"]: item for item in body["items"]}


def test_each_advocates_figures(api: Any, seeded: Any) -> None:
    items = by_advocate(page(api, seeded))
    assert set(items) == {"ann", "bob", "cat"}
    ann, bob, cat = items["ann"], items["bob"], items["cat"]
    assert {k: ann[k] for k in ("active", "invites", "shares", "reach", "clicks")} == {
        "active": True,
        "invites": 1,
        "shares": 1,
        "reach": 2,
        "clicks": 3,
    }
    assert (ann["unique_visitors"], ann["reported_impressions"], ann["k_factor"]) == (2, 100, 0.0)
    assert (bob["conversions"], bob["signups"], bob["revenue"]) == (2, 1, 10_000)
    assert bob["revenue_other_currencies"] == {"USD": 5000}
    assert (bob["reward_cost_issued"], bob["reward_cost_pending"], bob["roi"]) == (1000, 1500, 3.0)
    assert (bob["cpa"], bob["conversion_rate"], bob["k_factor"]) == (1250.0, 1.0, 2.0)
    assert (cat["active"], cat["reach"], cat["clicks"], cat["k_factor"]) == (False, 0, 0, None)


def test_additive_figures_add_up_to_the_campaign_totals(api: Any, seeded: Any) -> None:
    items = page(api, seeded)["items"]
    totals = api.get(
        f"/api/v1/campaigns/{seeded.campaign.id}/kpis?from=2026-03-10&to=2026-03-12"
    ).json["totals"]
    for field in ("invites", "shares", "clicks", "conversions", "revenue", "reward_cost"):
        assert sum(item[field] for item in items) == totals[field], field


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("-conversions", ["bob", "ann", "cat"]),
        ("clicks", ["cat", "bob", "ann"]),
        ("-clicks", ["ann", "bob", "cat"]),
        ("advocate", ["ann", "bob", "cat"]),
        ("-roi", ["bob", "ann", "cat"]),
        ("roi", ["bob", "ann", "cat"]),
    ],
)
def test_sorted_by_any_figure_nulls_last(
    api: Any, seeded: Any, sort: str, order: list[str]
) -> None:
    assert [i["advocate"] for i in page(api, seeded, f"&sort={sort}")["items"]] == order


def test_pages_follow_the_cursor(api: Any, seeded: Any) -> None:
    first = page(api, seeded, "&sort=advocate&limit=2")
    assert [i["advocate"] for i in first["items"]] == ["ann", "bob"]
    second = page(api, seeded, f"&sort=advocate&limit=2&cursor={first['next_cursor']}")
    assert ([i["advocate"] for i in second["items"]], second["next_cursor"]) == (["cat"], None)


def test_csv_lists_every_advocate(api: Any, seeded: Any) -> None:
    response = api.get(URL.format(seeded.campaign.id) + "&format=csv&limit=1&sort=advocate")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["advocate"] for r in rows] == ["ann", "bob", "cat"]
    assert rows[1]["revenue_other_currencies"] == "USD:5000"


@pytest.mark.parametrize(
    "crm_id", ['=HYPERLINK("https://evil.example","x")', "+1+1", "-1+1", "@SUM(1)", "\tx", "\rx"]
)
def test_csv_writes_formula_shaped_customer_ids_as_text(
    api: Any, seeded: Any, session: Any, crm_id: str
) -> None:
    session.execute(
        update(Customer).where(Customer.external_id == "cat").values(external_id=crm_id)
    )
    session.commit()

    response = api.get(URL.format(seeded.campaign.id) + "&format=csv&sort=advocate")

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert "'" + crm_id in [r["advocate"] for r in rows]
    assert crm_id not in [r["advocate"] for r in rows]


@pytest.mark.parametrize(
    "extra", ["&sort=followers", "&cursor=bm9wZQ", "&tz=Nowhere/Land", "&limit=0"]
)
def test_bad_parameters_are_422(api: Any, seeded: Any, extra: str) -> None:
    assert api.get(URL.format(seeded.campaign.id) + extra).status_code == 422


def test_another_workspace_gets_404(other_api: Any, seeded: Any) -> None:
    assert other_api.get(URL.format(seeded.campaign.id)).status_code == 404
