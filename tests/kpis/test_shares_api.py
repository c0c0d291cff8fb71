"""POST /api/v1/shares: batches of shares, idempotent by share_id."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from advocacy.kpis.models import Share


def share(seeded: Any, share_id: str = "new-1", **fields: Any) -> dict[str, Any]:
    body = {
        "share_id": share_id,
        "campaign_id": seeded.campaign.id,
        "advocate": "ann",
        "channel": "instagram",
        "link_id": seeded.links["ann"],
        "impressions": 40,
        "occurred_at": "2026-03-11T08:00:00+01:00",
    }
    body.update(fields)
    return body


def post(api: Any, *items: dict[str, Any]) -> Any:
    return api.post("/api/v1/shares", json={"items": list(items)})


def test_a_share_is_recorded_and_counted(api: Any, seeded: Any) -> None:
    response = post(api, share(seeded))
    assert response.status_code == 200, response.json
    assert response.json["summary"] == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 0}
    day11 = api.get(
        f"/api/v1/campaigns/{seeded.campaign.id}/kpis?from=2026-03-11&to=2026-03-11"
    ).json["totals"]
    assert (day11["shares"], day11["reported_impressions"], day11["active_advocates"]) == (1, 40, 1)
    assert day11["reach"] == 2


def test_sending_a_share_again_changes_nothing(api: Any, session: Any, seeded: Any) -> None:
    post(api, share(seeded))
    response = post(api, share(seeded, impressions=999), share(seeded))
    assert [r["status"] for r in response.json["results"]] == ["unchanged", "unchanged"]
    count = session.scalar(select(func.count()).where(Share.share_id == "new-1"))
    assert count == 1


def test_the_same_share_twice_in_one_batch_is_stored_once(api: Any, seeded: Any) -> None:
    response = post(api, share(seeded), share(seeded))
    assert [r["status"] for r in response.json["results"]] == ["created", "unchanged"]


def test_impressions_are_optional(api: Any, seeded: Any) -> None:
    item = share(seeded)
    del item["impressions"], item["link_id"]
    assert post(api, item).json["results"][0]["status"] == "created"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"advocate": "p1"}, "advocate"),
        ({"advocate": "nobody"}, "advocate"),
        ({"campaign_id": 999_999}, "advocate"),
        ({"link_id": -1}, "link_id"),
        ({"impressions": -5}, "impressions"),
        ({"channel": "Not A Slug"}, "channel"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
    ],
)
def test_bad_items_are_rejected_one_by_one(
    api: Any, seeded: Any, fields: dict[str, Any], error: str
) -> None:
    response = post(api, share(seeded, "bad", **fields), share(seeded, "good"))
    assert response.status_code == 200
    bad, good = response.json["results"]
    assert (bad["status"], list(bad["errors"])) == ("rejected", [error])
    assert good["status"] == "created"


def test_a_link_of_another_advocate_is_rejected(api: Any, seeded: Any) -> None:
    response = post(api, share(seeded, link_id=seeded.links["bob"]))
    assert response.json["results"][0]["errors"] == {"link_id": ["Not this advocate's link here."]}


def test_another_workspace_cannot_share_into_the_campaign(other_api: Any, seeded: Any) -> None:
    response = post(other_api, share(seeded))
    assert response.json["results"][0]["status"] == "rejected"


def test_more_than_1000_items_is_422(api: Any, seeded: Any) -> None:
    items = [share(seeded, f"s-{i}") for i in range(1001)]
    assert post(api, *items).status_code == 422


def test_a_read_only_key_cannot_record(
    client: Any, session: Any, workspace: Any, seeded: Any
) -> None:
    key = workspace.key(session, "read")
    response = client.post(
        "/api/v1/shares",
        json={"items": [share(seeded)]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 403
