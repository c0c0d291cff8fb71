"""The experiment endpoints: define (with each variant's incentive), assign (sticky), results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.campaigns.models import Enrollment
from advocacy.customers.models import Customer
from advocacy.experiments import stats
from advocacy.kpis.service import campaign_currency
from tests.experiments.helpers import ONE_WAY, TWO_WAY, definition
from tests.factories import allow_domains, enroll, make_campaign
from tests.kpis.conftest import add_conversion, add_link

VARIANTS = definition()
ADVOCATES = [f"adv{i}" for i in range(12)]


@pytest.fixture
def campaign(session: Any, workspace: Any) -> Any:
    allow_domains(session, workspace.id, "shop.example")
    session.add_all(
        Customer(workspace_id=workspace.id, external_id=n) for n in [*ADVOCATES, "buyer"]
    )
    session.flush()
    row = make_campaign(session, workspace.id)
    for name in ADVOCATES:
        enroll(session, row, name)
    return row


def url(campaign: Any, tail: str = "") -> str:
    return f"/api/v1/campaigns/{campaign.id}/experiment{tail}"


def test_define_then_read(api: Any, campaign: Any) -> None:
    response = api.put(url(campaign), json=VARIANTS)
    assert response.status_code == 200, response.json
    body = api.get(url(campaign)).json
    assert body["unit"] == "advocate"
    assert [v["name"] for v in body["variants"]] == ["one_way", "two_way"]
    assert body["winner"] is None and body["variants"][1]["exposures"] == 0


def test_each_variant_shows_its_incentive(api: Any, campaign: Any) -> None:
    one, two = api.put(url(campaign), json=VARIANTS).json["variants"]
    assert (one["inviter_reward"], one["invitee_reward"]) == (ONE_WAY["inviter_reward"], None)
    assert (two["inviter_reward"], two["invitee_reward"]) == (
        TWO_WAY["inviter_reward"],
        TWO_WAY["invitee_reward"],
    )


def test_the_unit_can_be_the_invitee(api: Any, campaign: Any) -> None:
    response = api.put(url(campaign), json=definition(unit="invitee"))
    assert response.status_code == 200, response.json
    assert api.get(url(campaign)).json["unit"] == "invitee"


def test_a_redefinition_replaces_unit_and_incentives(api: Any, campaign: Any) -> None:
    api.put(url(campaign), json=VARIANTS)
    richer = {**TWO_WAY, "invitee_reward": {"kind": "coupon", "amount": 1500, "currency": "EUR"}}
    body = api.put(
        url(campaign), json={"unit": "invitee", "variants": [ONE_WAY, richer], "min_sample": 5}
    ).json
    assert (body["unit"], body["min_sample"]) == ("invitee", 5)
    assert body["variants"][1]["invitee_reward"]["amount"] == 1500


def test_assignment_is_sticky_and_by_hash(api: Any, campaign: Any) -> None:
    api.put(url(campaign), json=VARIANTS)
    first = api.post(url(campaign, "/assignments"), json={"advocates": ADVOCATES}).json["items"]
    again = api.post(url(campaign, "/assignments"), json={"advocates": ADVOCATES}).json["items"]
    names = ["one_way", "two_way"]
    assert [i["variant"] for i in first] == [
        names[stats.assign_variant(campaign.id, a, [1, 1])] for a in ADVOCATES
    ]
    assert [i["variant"] for i in again] == [i["variant"] for i in first]
    assert {i["status"] for i in first} == {"new"} and {i["status"] for i in again} == {"assigned"}


def test_an_unenrolled_advocate_is_not_assigned(api: Any, campaign: Any) -> None:
    api.put(url(campaign), json=VARIANTS)
    (item,) = api.post(url(campaign, "/assignments"), json={"advocates": ["buyer"]}).json["items"]
    assert (item["variant"], item["status"]) == (None, "not_enrolled")


def test_results_count_converted_advocates_per_variant(
    api: Any, session: Any, campaign: Any
) -> None:
    api.put(url(campaign), json=VARIANTS)
    items = api.post(url(campaign, "/assignments"), json={"advocates": ADVOCATES}).json["items"]
    two_way = [i["advocate"] for i in items if i["variant"] == "two_way"]
    exposures = {"two_way": len(two_way), "one_way": len(ADVOCATES) - len(two_way)}
    ids = dict(session.execute(select(Customer.external_id, Customer.id)).tuples().all())
    winner = two_way[0]
    enrollment = session.scalar(select(Enrollment).where(Enrollment.customer_id == ids[winner]))
    link = add_link(session, campaign, enrollment, ids[winner], datetime(2026, 1, 1, tzinfo=UTC))
    for n in range(2):  # two conversions by one advocate: one converted advocate
        add_conversion(
            session,
            campaign,
            link_id=link,
            advocate_id=ids[winner],
            invitee_id=ids["buyer"],
            event="purchase",
            when=datetime(2099, 1, 1, n, tzinfo=UTC),
            amount=4000,
            currency=campaign_currency(campaign),
        )
    session.commit()
    body = api.get(url(campaign)).json
    one, two = body["variants"]
    assert (one["exposures"], one["conversions"]) == (exposures["one_way"], 0)
    assert (two["exposures"], two["conversions"], two["revenue"]) == (exposures["two_way"], 1, 8000)
    assert two["rate"] == pytest.approx(1 / exposures["two_way"])
    assert two["revenue_per_exposure"] == pytest.approx(8000 / exposures["two_way"])
    assert two["p_value"] == pytest.approx(
        stats.two_proportion_p_value(1, exposures["two_way"], 0, exposures["one_way"])
    )
    assert body["winner"] is None  # one conversion is not significant


def test_variants_cannot_change_after_assignment(api: Any, campaign: Any) -> None:
    api.put(url(campaign), json=VARIANTS)
    api.post(url(campaign, "/assignments"), json={"advocates": ADVOCATES[:1]})
    response = api.put(url(campaign), json=VARIANTS)
    assert response.status_code == 409
    assert response.json["detail"].startswith("Advocates are assigned already")


def test_an_ended_campaign_gets_no_experiment(api: Any, session: Any, campaign: Any) -> None:
    campaign.status = "ended"
    session.commit()
    response = api.put(url(campaign), json=VARIANTS)
    assert response.status_code == 409
    assert "ended" in response.json["detail"]


def test_an_invitee_experiment_assigns_no_advocates_on_request(api: Any, campaign: Any) -> None:
    api.put(url(campaign), json=definition(unit="invitee"))
    response = api.post(url(campaign, "/assignments"), json={"advocates": ADVOCATES[:1]})
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "invitees" in response.json["detail"]


def _variants(*variants: dict[str, Any]) -> dict[str, Any]:
    return {"variants": list(variants)}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


MONEY = {"kind": "credit", "amount": 1000, "currency": "EUR"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_variants(ONE_WAY), "variants"),
        (_variants(_with(ONE_WAY, control=False), TWO_WAY), "variants"),
        (_variants(ONE_WAY, _with(TWO_WAY, name="one_way")), "variants"),
        (_variants(ONE_WAY, _with(TWO_WAY, weight=0)), "variants.1.weight"),
        (_with(definition(), unit="household"), "unit"),
        (_variants(ONE_WAY, {"name": "two_way"}), "variants.1.inviter_reward"),
        (
            _variants(ONE_WAY, _with(TWO_WAY, inviter_reward=None, invitee_reward=None)),
            "variants.1.invitee_reward",
        ),
        (
            _variants(ONE_WAY, _with(TWO_WAY, inviter_reward={**MONEY, "currency": None})),
            "variants.1.inviter_reward.currency",
        ),
        (
            _variants(ONE_WAY, _with(TWO_WAY, inviter_reward={**MONEY, "kind": "cash"})),
            "variants.1.inviter_reward.kind",
        ),
        (
            _variants(ONE_WAY, _with(TWO_WAY, inviter_reward={**MONEY, "amount": 0})),
            "variants.1.inviter_reward.amount",
        ),
        (
            _variants(ONE_WAY, _with(TWO_WAY, inviter_reward={**MONEY, "amount": 9.99})),
            "variants.1.inviter_reward.amount",
        ),
        (
            _variants(
                ONE_WAY,
                _with(TWO_WAY, invitee_reward={"kind": "points", "amount": 500, "currency": "EUR"}),
            ),
            "variants.1.invitee_reward.currency",
        ),
    ],
)
def test_bad_definitions_are_422(api: Any, campaign: Any, body: Any, field: str) -> None:
    response = api.put(url(campaign), json=body)
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in response.json["errors"], response.json


def test_points_variants_need_no_currency(api: Any, campaign: Any) -> None:
    points = _with(TWO_WAY, invitee_reward={"kind": "points", "amount": 500})
    response = api.put(url(campaign), json=_variants(ONE_WAY, points))
    assert response.status_code == 200, response.json
    assert response.json["variants"][1]["invitee_reward"] == {
        "kind": "points",
        "amount": 500,
        "currency": None,
    }


def test_money_in_another_currency_than_the_campaigns_is_422(api: Any, campaign: Any) -> None:
    dollars = _with(TWO_WAY, invitee_reward={**MONEY, "currency": "USD"})
    response = api.put(url(campaign), json=_variants(ONE_WAY, dollars))
    assert response.status_code == 422
    assert response.json["errors"] == {
        "variants.1.invitee_reward.currency": [
            "Must be the campaign's currency, EUR: variants are compared in it."
        ]
    }


def test_rewarding_the_inviter_needs_the_campaigns_disclosure(
    api: Any, session: Any, campaign: Any
) -> None:
    campaign.disclosure = None
    session.commit()
    response = api.put(url(campaign), json=VARIANTS)
    assert response.status_code == 422
    assert set(response.json["errors"]) == {
        "variants.0.inviter_reward",
        "variants.1.inviter_reward",
    }
    invitee_only = _with(TWO_WAY, inviter_reward=None)
    control = _with(invitee_only, name="small", control=True)
    assert api.put(url(campaign), json=_variants(control, invitee_only)).status_code == 200


def test_no_experiment_is_404(api: Any, campaign: Any) -> None:
    assert api.get(url(campaign)).status_code == 404


def test_another_workspace_gets_404(api: Any, other_api: Any, campaign: Any) -> None:
    api.put(url(campaign), json=VARIANTS)
    assert other_api.get(url(campaign)).status_code == 404
    assert other_api.put(url(campaign), json=VARIANTS).status_code == 404
