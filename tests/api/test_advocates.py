"""Advocate ranking through the HTTP API, on planted cases."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import ApiClient, ago, overlapping_fan_groups


def post_ok(api: ApiClient, url: str, items: list[dict[str, Any]]) -> None:
    response = api.post(url, json={"items": items})
    assert response.status_code == 200, response.json
    assert response.json["summary"]["rejected"] == 0, response.json


def put_customer(api: ApiClient, external_id: str, followers: int | None = None) -> None:
    body: dict[str, Any] = {"email": f"{external_id}@example.com", "first_name": external_id}
    if followers is not None:
        body["followers"] = followers
    assert api.put(f"/api/v1/customers/{external_id}", json=body).status_code == 200


def friend_group(api: ApiClient, prefix: str, size: int) -> list[str]:
    """A tight group: everyone replies to everyone."""
    members = [f"{prefix}-{i}" for i in range(size)]
    for member in members:
        put_customer(api, member, followers=30)
    post_ok(
        api,
        "/api/v1/connections",
        [
            {
                "source": a,
                "target": b,
                "channel": "whatsapp",
                "replies": 6,
                "messages": 4,
                "last_interaction_at": ago(10),
            }
            for a in members
            for b in members
            if a != b
        ],
    )
    return members


@pytest.fixture
def planted(api: ApiClient) -> ApiClient:
    """A loud detractor, a quiet promoter, and the crowd around them."""
    put_customer(api, "loud", followers=5000)
    put_customer(api, "quiet", followers=40)
    fans = [f"fan-{i}" for i in range(12)]
    audience = [f"aud-{i}" for i in range(30)]
    for external_id in fans + audience:
        put_customer(api, external_id, followers=10)
    post_ok(
        api,
        "/api/v1/events",
        [
            {"customer": "loud", "kind": "nps", "value": 1, "occurred_at": ago(7)},
            {
                "customer": "loud",
                "kind": "purchase",
                "amount": 250000,
                "currency": "EUR",
                "occurred_at": ago(300),
            },
            {"customer": "quiet", "kind": "nps", "value": 10, "occurred_at": ago(21)},
            {
                "customer": "quiet",
                "kind": "purchase",
                "amount": 9000,
                "currency": "EUR",
                "occurred_at": ago(30),
            },
            {"customer": "quiet", "kind": "review", "value": 5, "occurred_at": ago(25)},
        ],
    )
    post_ok(
        api,
        "/api/v1/mentions",
        [
            {
                "external_id": f"loud-{i}",
                "channel": "x",
                "customer": "loud",
                "sentiment": -0.8,
                "occurred_at": ago(3 + i),
            }
            for i in range(3)
        ]
        + [
            {
                "external_id": f"quiet-{i}",
                "channel": "instagram",
                "customer": "quiet",
                "sentiment": 0.8,
                "occurred_at": ago(5 + i),
            }
            for i in range(10)
        ],
    )
    post_ok(
        api,
        "/api/v1/connections",
        [{"source": a, "target": "loud", "channel": "x", "follows": True} for a in audience]
        + [
            {
                "source": f,
                "target": "quiet",
                "channel": "instagram",
                "replies": 8,
                "shares": 2,
                "last_interaction_at": ago(4),
            }
            for f in fans
        ],
    )
    assert api.post("/api/v1/advocates/rank").status_code == 201
    return api


def advocate(api: ApiClient, external_id: str, **query: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/advocates/{external_id}", query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def test_list_before_any_ranking_is_404_with_a_hint(api):
    response = api.get("/api/v1/advocates")
    assert response.status_code == 404
    assert "rank" in response.json["detail"]


def test_rank_reports_the_snapshot(api):
    put_customer(api, "a")
    response = api.post("/api/v1/advocates/rank")
    assert response.status_code == 201
    body = response.json
    assert body["version"] == 1
    assert body["customers"] == 1
    assert api.post("/api/v1/advocates/rank").json["version"] == 2


def test_loud_detractor_is_gated_and_ranks_below_quiet_promoter(planted):
    loud = advocate(planted, "loud")
    quiet = advocate(planted, "quiet")
    assert loud["eligible"] is False
    assert loud["gates"]
    assert loud["reasons"][0].startswith("gated")
    assert quiet["eligible"] is True
    assert quiet["rank"] < loud["rank"]
    assert loud["followers"] == 5000 and quiet["followers"] == 40


def test_promoter_reasons_name_their_evidence(planted):
    reasons = " | ".join(advocate(planted, "quiet")["reasons"])
    assert "NPS 10" in reasons or "positive mention" in reasons or "reply" in reasons


def test_eligible_filter_leaves_detractors_out(planted):
    response = planted.get("/api/v1/advocates", query_string={"eligible": "true", "limit": 100})
    ids = [item["external_id"] for item in response.json["items"]]
    assert "quiet" in ids and "loud" not in ids
    assert all(item["eligible"] for item in response.json["items"])


def test_list_items_carry_components_weights_and_followers(planted):
    item = planted.get("/api/v1/advocates", query_string={"limit": 1}).json["items"][0]
    assert set(item["components"]) == {
        "engagement",
        "sentiment",
        "influence",
        "reach",
        "track_record",
    }
    assert all(0.0 <= v <= 1.0 for v in item["components"].values())
    assert sum(item["weights"].values()) == pytest.approx(1.0)
    assert "followers" in item and item["rank"] == 1


def test_cursor_pages_through_ranks_without_overlap(planted):
    first = planted.get("/api/v1/advocates", query_string={"limit": 5}).json
    second = planted.get(
        "/api/v1/advocates", query_string={"limit": 5, "cursor": first["next_cursor"]}
    ).json
    assert [i["rank"] for i in first["items"]] == [1, 2, 3, 4, 5]
    assert [i["rank"] for i in second["items"]] == [6, 7, 8, 9, 10]


def test_objectives_weigh_components_differently(planted):
    awareness = advocate(planted, "quiet", objective="awareness")["weights"]
    conversion = advocate(planted, "quiet", objective="conversion")["weights"]
    assert awareness["reach"] > conversion["reach"]
    assert conversion["engagement"] > awareness["engagement"]


def test_custom_weights_tilt_the_expected_value_by_the_chosen_components(planted):
    items = planted.get(
        "/api/v1/advocates", query_string={"weights": "sentiment:1", "limit": 100}
    ).json["items"]
    eligible = [i for i in items if i["eligible"]]
    scores = [i["score"] for i in eligible]
    assert scores == sorted(scores, reverse=True)
    for item in items:
        tilt = item["components"]["sentiment"] / 0.5
        # expected_people is rounded to 4 decimals, the tilt is at most 2.
        assert item["score"] == pytest.approx(item["expected_people"] * tilt, abs=1.1e-4)
    assert items[0]["weights"]["sentiment"] == pytest.approx(1.0)


@pytest.mark.parametrize("weights", ["followers:1", "reach:-1", "reach:abc", "reach:0"])
def test_bad_custom_weights_are_422_naming_weights(planted, weights):
    response = planted.get("/api/v1/advocates", query_string={"weights": weights})
    assert response.status_code == 422
    assert "weights" in response.json["errors"]


def test_unknown_objective_is_422(planted):
    response = planted.get("/api/v1/advocates", query_string={"objective": "fame"})
    assert response.status_code == 422
    assert "objective" in response.json["errors"]


def test_ranking_is_deterministic(planted):
    before = planted.get("/api/v1/advocates", query_string={"limit": 100}).json["items"]
    planted.post("/api/v1/advocates/rank")
    after = planted.get("/api/v1/advocates", query_string={"limit": 100}).json["items"]
    assert [(i["external_id"], i["score"]) for i in before] == [
        (i["external_id"], i["score"]) for i in after
    ]


def test_another_workspaces_advocate_is_404(planted, other_api):
    other_api.post("/api/v1/advocates/rank")
    assert other_api.get("/api/v1/advocates/quiet").status_code == 404


def test_rank_needs_the_campaigns_scope(client, session, workspace):
    reader = ApiClient(client, workspace.key(session, "read"))
    assert reader.post("/api/v1/advocates/rank").status_code == 403


def test_coverage_spreads_over_friend_groups_where_top_piles_into_one(api):
    overlapping_fan_groups(api, ago)
    api.post("/api/v1/advocates/rank")
    body = {"k": 4, "objective": "awareness"}
    top = api.post("/api/v1/advocates/selection", json={**body, "strategy": "top"}).json
    coverage = api.post("/api/v1/advocates/selection", json={**body, "strategy": "coverage"}).json
    top_groups = {a["external_id"].split("-")[0] for a in top["advocates"]}
    coverage_groups = {a["external_id"].split("-")[0] for a in coverage["advocates"]}
    assert top_groups == {"big"}
    assert coverage_groups == {"big", "small"}
    assert coverage["expected_people"] > top["expected_people"]
    assert coverage["expected_reach"] == coverage["expected_people"]
    gains = [a["marginal_gain"] for a in coverage["advocates"]]
    assert gains == sorted(gains, reverse=True)
    # Each advocate's own expected value is reported beside what they add to the set.
    second_big = top["advocates"][1]
    assert second_big["marginal_gain"] < second_big["expected_people"]


def test_selection_respects_exclude_and_candidates(api):
    members = friend_group(api, "g", 6)
    api.post("/api/v1/advocates/rank")
    chosen = api.post(
        "/api/v1/advocates/selection",
        json={"k": 3, "strategy": "top", "candidates": members[:4], "exclude": [members[0]]},
    ).json["advocates"]
    ids = {a["external_id"] for a in chosen}
    assert ids <= set(members[1:4]) and len(ids) == 3


def test_selection_with_unknown_customer_is_422(api):
    friend_group(api, "g", 3)
    api.post("/api/v1/advocates/rank")
    response = api.post("/api/v1/advocates/selection", json={"k": 1, "exclude": ["nobody"]})
    assert response.status_code == 422


def test_selection_validates_k_and_strategy(api):
    for body in ({"k": 0}, {"k": 2, "strategy": "loudest"}, {}):
        response = api.post("/api/v1/advocates/selection", json=body)
        assert response.status_code == 422
