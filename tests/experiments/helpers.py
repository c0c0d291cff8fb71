"""Helpers of the experiment tests: the variants under test and who lands in which."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from advocacy.experiments import stats

# The classic test: the same EUR 20 per conversion, split two ways or all to the inviter.
ONE_WAY = {
    "name": "one_way",
    "weight": 1,
    "control": True,
    "inviter_reward": {"kind": "credit", "amount": 2000, "currency": "EUR"},
    "invitee_reward": None,
}
TWO_WAY = {
    "name": "two_way",
    "weight": 1,
    "inviter_reward": {"kind": "credit", "amount": 1000, "currency": "EUR"},
    "invitee_reward": {"kind": "coupon", "amount": 1000, "currency": "EUR"},
}
NAMES = ["one_way", "two_way"]


def definition(unit: str = "advocate", min_sample: int = 2, **extra: Any) -> dict[str, Any]:
    return {"unit": unit, "variants": [ONE_WAY, TWO_WAY], "min_sample": min_sample, **extra}


def experiment_url(campaign_id: int, tail: str = "") -> str:
    return f"/api/v1/campaigns/{campaign_id}/experiment{tail}"


def variant_of(campaign_id: int, external_id: str, weights: Sequence[int] = (1, 1)) -> str:
    """The variant the hash gives this customer in this campaign."""
    return NAMES[stats.assign_variant(campaign_id, external_id, weights)]


def one_of_each(campaign_id: int, prefix: str) -> dict[str, str]:
    """Variant name -> the first of ``prefix0, prefix1, ...`` the hash puts in it."""
    found: dict[str, str] = {}
    n = 0
    while len(found) < len(NAMES):
        name = f"{prefix}{n}"
        found.setdefault(variant_of(campaign_id, name), name)
        n += 1
    return found


def put_advocates(api: Any, *names: str) -> None:
    """Customers who may be contacted (enrollment requires a consent)."""
    for name in names:
        response = api.put(
            f"/api/v1/customers/{name}",
            json={
                "email": f"{name}@example.com",
                "first_name": name.title(),
                "consent": {"email": True},
            },
        )
        assert response.status_code == 200, response.json


def enroll_by_api(api: Any, campaign_id: int, *names: str) -> dict[str, str]:
    """Enroll through the API; each name's status."""
    response = api.post(f"/api/v1/campaigns/{campaign_id}/enrollments", json={"customers": names})
    assert response.status_code == 200, response.json
    return {r["customer"]: r["status"] for r in response.json["results"]}
