"""The experiment endpoints: define, assign (sticky), results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.campaigns.models import Enrollment
from advocacy.customers.models import Customer
from advocacy.experiments import stats
from advocacy.kpis.service import campaign_currency
from tests.factories import allow_domains, enroll, make_campaign
from tests.kpis.conftest import add_conversion, add_link

VARIANTS = {
    "variants": [
        {"name": "one_way", "weight": 1, "control": True},
        {"name": "two_way", "weight": 1},
    ],
    "min_sample": 2,
}
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
    assert [v["name"] for v in body["variants"]] == ["one_way", "two_way"]
    assert body["winner"] is None and body["variants"][1]["exposures"] == 0


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
    assert api.put(url(campaign), json=VARIANTS).status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"variants": [{"name": "a", "control": True}]},
        {"variants": [{"name": "a"}, {"name": "b"}]},
        {"variants": [{"name": "a", "control": True}, {"name": "a"}]},
        {"variants": [{"name": "a", "control": True}, {"name": "b", "weight": 0}]},
    ],
)
def test_bad_definitions_are_422(api: Any, campaign: Any, body: Any) -> None:
    assert api.put(url(campaign), json=body).status_code == 422


def test_no_experiment_is_404(api: Any, campaign: Any) -> None:
    assert api.get(url(campaign)).status_code == 404


def test_another_workspace_gets_404(api: Any, other_api: Any, campaign: Any) -> None:
    api.put(url(campaign), json=VARIANTS)
    assert other_api.get(url(campaign)).status_code == 404
    assert other_api.put(url(campaign), json=VARIANTS).status_code == 404
