"""GET /api/v1/campaigns/{id}/kpis on the seeded campaign (see conftest.py)."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import pytest

from advocacy.kpis.maths import ADDITIVE
from tests.factories import enroll, make_campaign
from tests.kpis.conftest import add_click, add_link, at

RANGE = "from=2026-03-10&to=2026-03-12"


def kpis(api: Any, campaign_id: int, query: str = RANGE) -> Any:
    response = api.get(f"/api/v1/campaigns/{campaign_id}/kpis?{query}")
    assert response.status_code == 200, response.json
    return response.json


def test_every_figure_of_each_day(api: Any, seeded: Any) -> None:
    body = kpis(api, seeded.campaign.id)
    day10, day11, day12 = body["series"]
    assert [d["period"] for d in body["series"]] == ["2026-03-10", "2026-03-11", "2026-03-12"]
    assert body["currency"] == "EUR"
    assert {k: day10[k] for k in EXPECTED_DAY10} == EXPECTED_DAY10
    assert {k: day12[k] for k in EXPECTED_DAY12} == EXPECTED_DAY12


EXPECTED_DAY10 = {
    "advocates": 3,
    "active_advocates": 1,
    "invites": 1,
    "shares": 1,
    "reach": 2,
    "reported_impressions": 100,
    "clicks": 3,
    "unique_visitors": 2,
    "signups": 0,
    "conversions": 0,
    "conversion_rate": 0.0,
    "revenue": 0,
    "revenue_other_currencies": {},
    "reward_cost_issued": 0,
    "reward_cost_pending": 0,
    "roi": None,
    "cpa": None,
    "k_factor": 0.0,
}
EXPECTED_DAY12 = {
    "advocates": 3,
    "active_advocates": 1,
    "invites": 1,
    "shares": 2,
    "reach": 2,
    "reported_impressions": 50,
    "clicks": 2,
    "unique_visitors": 2,
    "signups": 1,
    "conversions": 2,
    "conversion_rate": 1.0,
    "revenue": 10_000,
    "revenue_other_currencies": {"USD": 5000},
    "reward_cost_issued": 1000,
    "reward_cost_pending": 1500,
    "reward_cost": 2500,
    "roi": 3.0,
    "cpa": 1250.0,
    "k_factor": 2.0,
}


def test_an_empty_period_is_zeros(api: Any, seeded: Any) -> None:
    day11 = kpis(api, seeded.campaign.id)["series"][1]
    assert day11["advocates"] == 3
    assert all(day11[k] == 0 for k in ADDITIVE)
    assert (day11["active_advocates"], day11["reach"], day11["unique_visitors"]) == (0, 0, 0)
    assert (day11["conversion_rate"], day11["roi"], day11["cpa"], day11["k_factor"]) == (
        None,
        None,
        None,
        None,
    )


def test_totals_count_distinct_people_over_the_range(api: Any, seeded: Any) -> None:
    totals = kpis(api, seeded.campaign.id)["totals"]
    assert (totals["active_advocates"], totals["reach"], totals["unique_visitors"]) == (2, 3, 3)
    assert totals["conversion_rate"] == pytest.approx(2 / 3)
    assert totals["k_factor"] == 1.0  # (2 invites / 2 active) x (2 conversions / 2 invites)
    assert totals["roi"] == 3.0


def test_totals_are_the_sum_of_the_series_for_additive_fields(api: Any, seeded: Any) -> None:
    body = kpis(api, seeded.campaign.id)
    for field in ADDITIVE:
        assert body["totals"][field] == sum(p[field] for p in body["series"]), field


def test_program_score_weights_the_indices_by_objective(api: Any, seeded: Any) -> None:
    score = kpis(api, seeded.campaign.id)["totals"]["program_score"]
    reach = 1 - math.exp(-3 / (50 * 3))
    sharing = 2 / 3
    monetisation = 1 - math.exp(-(2 / 3) / 0.05)
    assert score["reach"] == pytest.approx(reach)
    assert score["sharing"] == pytest.approx(sharing)
    assert score["monetisation"] == pytest.approx(monetisation)
    assert score["score"] == pytest.approx(0.1 * reach + 0.2 * sharing + 0.7 * monetisation)


def test_score_weights_of_the_campaign_override_the_objective(
    api: Any, session: Any, seeded: Any
) -> None:
    seeded.campaign.score_weights = {"reach": 2, "sharing": 2}
    session.commit()
    score = kpis(api, seeded.campaign.id)["totals"]["program_score"]
    assert score["score"] == pytest.approx((score["reach"] + score["sharing"]) / 2)


def test_roi_is_null_without_cost(api: Any, seeded: Any) -> None:
    day10 = kpis(api, seeded.campaign.id)["series"][0]
    assert (day10["reward_cost"], day10["roi"]) == (0, None)


def test_k_factor_is_null_with_zero_advocates(api: Any, session: Any, workspace: Any) -> None:
    campaign = make_campaign(session, workspace.id)
    totals = kpis(api, campaign.id)["totals"]
    assert (totals["advocates"], totals["active_advocates"], totals["k_factor"]) == (0, 0, None)
    assert totals["program_score"]["score"] == 0.0


def test_weeks_start_on_monday_and_months_on_the_first(api: Any, seeded: Any) -> None:
    weeks = kpis(api, seeded.campaign.id, "from=2026-03-01&to=2026-03-31&granularity=week")
    assert [p["period"] for p in weeks["series"]][:3] == ["2026-02-23", "2026-03-02", "2026-03-09"]
    assert weeks["series"][2]["clicks"] == 5
    months = kpis(api, seeded.campaign.id, "from=2026-02-15&to=2026-04-02&granularity=month")
    assert [(p["period"], p["clicks"]) for p in months["series"]] == [
        ("2026-02-01", 0),
        ("2026-03-01", 5),
        ("2026-04-01", 0),
    ]


@pytest.fixture
def dst_clicks(session: Any, seeded: Any) -> Any:
    """Around Berlin's spring-forward night (2026-03-29, a 23-hour local day)."""
    enrollment = enroll(session, seeded.campaign, "p1")
    link = add_link(session, seeded.campaign, enrollment, seeded.customers["p1"], at(20))
    for when in (at(28, 22, 30), at(28, 23, 30), at(29, 21, 30), at(29, 22, 30)):
        add_click(session, seeded.campaign, link, "dst", when)
    session.commit()
    return seeded


def test_local_days_follow_the_time_zone_across_dst(api: Any, dst_clicks: Any) -> None:
    query = "from=2026-03-28&to=2026-03-30&tz=Europe/Berlin"
    body = kpis(api, dst_clicks.campaign.id, query)
    assert [p["clicks"] for p in body["series"]] == [1, 2, 1]
    day29 = body["series"][1]
    assert (day29["start"], day29["end"]) == (
        "2026-03-28T23:00:00+00:00",
        "2026-03-29T22:00:00+00:00",
    )


def test_utc_is_the_default_time_zone(api: Any, dst_clicks: Any) -> None:
    body = kpis(api, dst_clicks.campaign.id, "from=2026-03-28&to=2026-03-30")
    assert body["tz"] == "UTC"
    assert [p["clicks"] for p in body["series"]] == [2, 2, 0]


def test_csv_has_a_row_per_period_and_the_totals(api: Any, seeded: Any) -> None:
    response = api.get(f"/api/v1/campaigns/{seeded.campaign.id}/kpis?{RANGE}&format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["period"] for r in rows] == ["2026-03-10", "2026-03-11", "2026-03-12", "total"]
    assert rows[2]["revenue_other_currencies"] == "USD:5000"
    assert rows[3]["clicks"] == "5"
    assert rows[1]["roi"] == ""


def test_another_workspace_gets_404(other_api: Any, seeded: Any) -> None:
    response = other_api.get(f"/api/v1/campaigns/{seeded.campaign.id}/kpis?{RANGE}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-12&to=2026-03-10", "to"),
        (RANGE + "&granularity=hour", "granularity"),
        (RANGE + "&tz=Mars/Olympus", "tz"),
        (RANGE + "&tz=../../etc/passwd", "tz"),
        ("to=2026-03-10", "from"),
        (RANGE + "&format=xml", "format"),
        ("from=2020-01-01&to=2026-01-01", "granularity"),
    ],
)
def test_bad_parameters_are_422(api: Any, seeded: Any, query: str, field: str) -> None:
    response = api.get(f"/api/v1/campaigns/{seeded.campaign.id}/kpis?{query}")
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_a_read_key_is_enough(client: Any, session: Any, workspace: Any, seeded: Any) -> None:
    key = workspace.key(session, "read")
    response = client.get(
        f"/api/v1/campaigns/{seeded.campaign.id}/kpis?{RANGE}",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200
