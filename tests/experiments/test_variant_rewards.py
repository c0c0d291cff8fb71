"""The assigned variant's incentive is what a conversion books, and what the invitation
page offers (advocate unit); without an assignment the campaign's own offer holds."""

from __future__ import annotations

from typing import Any

import pytest

from tests.experiments.helpers import (
    definition,
    enroll_by_api,
    experiment_url,
    one_of_each,
    put_advocates,
)
from tests.factories import allow_domains, make_campaign
from tests.rewards.helpers import click, issue_link, purchase, report

# role -> (kind, amount) booked per variant; the campaign itself offers 10 credit / 15 off.
BOOKED = {
    "one_way": {"inviter": ("credit", 2000)},
    "two_way": {"inviter": ("credit", 1000), "invitee": ("coupon", 1000)},
}
CAMPAIGN_OFFER = {"inviter": ("credit", 1000), "invitee": ("coupon", 1500)}


@pytest.fixture
def campaign(session: Any, workspace: Any) -> Any:
    allow_domains(session, workspace.id, "shop.example")
    return make_campaign(session, workspace.id)


def define(api: Any, campaign: Any, unit: str = "advocate") -> None:
    response = api.put(experiment_url(campaign.id), json=definition(unit=unit))
    assert response.status_code == 200, response.json


def booked(response: Any) -> dict[str, tuple[str, int]]:
    assert response.status_code == 201, response.json
    return {r["role"]: (r["kind"], r["amount"]) for r in response.json["rewards"]}


def enrolled(api: Any, campaign: Any, variant: str | None, unit: str = "advocate") -> str:
    """An advocate enrolled in an experiment of ``unit``: one the hash puts in ``variant``
    (so assigned to it, advocate unit), or ann (``variant`` None)."""
    advocate = "ann" if variant is None else one_of_each(campaign.id, "adv")[variant]
    put_advocates(api, advocate)
    define(api, campaign, unit=unit)
    enroll_by_api(api, campaign.id, advocate)
    return advocate


def linked(api: Any, client: Any, campaign: Any, advocate: str) -> str:
    token = str(issue_link(api, campaign.id, advocate)["token"])
    click(client, token)
    return token


@pytest.mark.parametrize("variant", ["one_way", "two_way"])
def test_an_advocates_variant_sets_both_rewards(
    api: Any, client: Any, campaign: Any, variant: str
) -> None:
    advocate = enrolled(api, campaign, variant)
    token = linked(api, client, campaign, advocate)
    assert booked(report(api, purchase("o-1", "zoe", ref=token))) == BOOKED[variant]


def test_the_ledger_books_the_variants_amounts(api: Any, client: Any, campaign: Any) -> None:
    advocate = enrolled(api, campaign, "one_way")
    report(api, purchase("o-1", "zoe", ref=linked(api, client, campaign, advocate)))
    balance = api.get(f"/api/v1/customers/{advocate}/rewards").json["balance"]
    assert balance == [{"unit": "EUR", "amount": 2000}]


@pytest.mark.parametrize("variant", ["one_way", "two_way"])
def test_an_invitees_variant_sets_both_rewards(
    api: Any, client: Any, campaign: Any, variant: str
) -> None:
    enrolled(api, campaign, None, unit="invitee")
    token = linked(api, client, campaign, "ann")
    invitee = one_of_each(campaign.id, "zoe")[variant]
    assert booked(report(api, purchase("o-1", invitee, ref=token))) == BOOKED[variant]


def test_two_invitees_of_one_advocate_get_their_own_variants(
    api: Any, client: Any, campaign: Any
) -> None:
    enrolled(api, campaign, None, unit="invitee")
    token = linked(api, client, campaign, "ann")
    for variant, invitee in one_of_each(campaign.id, "zoe").items():
        assert booked(report(api, purchase(f"o-{invitee}", invitee, ref=token))) == BOOKED[variant]


def test_an_unassigned_advocate_earns_the_campaigns_offer(
    api: Any, client: Any, campaign: Any
) -> None:
    """Enrolled and linked before the experiment: the offer their invitee was shown."""
    put_advocates(api, "ann")
    enroll_by_api(api, campaign.id, "ann")
    token = linked(api, client, campaign, "ann")
    define(api, campaign)
    assert booked(report(api, purchase("o-1", "zoe", ref=token))) == CAMPAIGN_OFFER
    assert [v["exposures"] for v in api.get(experiment_url(campaign.id)).json["variants"]] == [0, 0]


def test_the_budget_is_checked_against_the_variants_amounts(
    api: Any, client: Any, session: Any, campaign: Any
) -> None:
    """EUR 20 fits a EUR 20 budget; the campaign's own EUR 25 would not."""
    campaign.budget = 2000
    session.commit()
    advocate = enrolled(api, campaign, "one_way")
    token = linked(api, client, campaign, advocate)
    response = report(api, purchase("o-1", "zoe", ref=token))
    assert {r["state"] for r in response.json["rewards"]} == {"approved"}
    second = report(api, purchase("o-2", "yan", ref=token))
    assert second.json["referral"]["reason"] == "budget_exhausted"


# --- the invitation page ------------------------------------------------------------------


def _page(client: Any, token: str) -> str:
    response = client.get(f"/i/{token}")
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def test_the_invitation_page_offers_a_one_way_advocates_variant(
    api: Any, client: Any, campaign: Any
) -> None:
    advocate = enrolled(api, campaign, "one_way")
    text = _page(client, issue_link(api, campaign.id, advocate)["token"])
    assert "€20.00 credit" in text
    assert 'data-testid="invitee-offer"' not in text  # the invitee gets nothing in one_way


def test_the_invitation_page_offers_a_two_way_advocates_variant(
    api: Any, client: Any, campaign: Any
) -> None:
    advocate = enrolled(api, campaign, "two_way")
    text = _page(client, issue_link(api, campaign.id, advocate)["token"])
    assert "€10.00 off" in text and "€10.00 credit" in text
    assert "€15.00" not in text


def test_the_invitation_page_of_an_invitee_experiment_offers_the_campaigns_rewards(
    api: Any, client: Any, campaign: Any
) -> None:
    enrolled(api, campaign, None, unit="invitee")
    text = _page(client, issue_link(api, campaign.id, "ann")["token"])
    assert "€15.00 off" in text and "€10.00 credit" in text


def test_the_invitation_page_keeps_the_campaigns_texts(
    api: Any, client: Any, session: Any, campaign: Any
) -> None:
    campaign.translations = {"de": {"headline": "{name} schenkt dir was"}}
    session.commit()
    advocate = enrolled(api, campaign, "one_way")
    token = issue_link(api, campaign.id, advocate)["token"]
    response = client.get(f"/i/{token}", headers={"Accept-Language": "de"})
    text = response.get_data(as_text=True)
    assert f"{advocate.title()} schenkt dir was" in text
    assert "20,00 € Guthaben" in text
