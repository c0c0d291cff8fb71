"""Automatic, sticky assignment: advocates when enrolled (or at their first link), invitees
when a conversion of theirs is attributed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from advocacy.customers.models import Customer
from advocacy.experiments.models import ExperimentAssignment, ExperimentVariant
from advocacy.links.models import Click
from advocacy.types import utcnow
from tests.experiments.helpers import (
    definition,
    enroll_by_api,
    experiment_url,
    put_advocates,
    variant_of,
)
from tests.factories import allow_domains, make_campaign
from tests.rewards.helpers import click, issue_link, purchase, report, signup

ADVOCATES = [f"adv{i}" for i in range(8)]


@pytest.fixture
def campaign(session: Any, api: Any, workspace: Any) -> Any:
    allow_domains(session, workspace.id, "shop.example")
    put_advocates(api, *ADVOCATES)
    return make_campaign(session, workspace.id)


def define(api: Any, campaign: Any, unit: str = "advocate") -> None:
    response = api.put(experiment_url(campaign.id), json=definition(unit=unit))
    assert response.status_code == 200, response.json


def assignments(session: Any, campaign: Any) -> dict[str, tuple[str, Any, int]]:
    """external id -> (variant, assigned_at, row id)"""
    rows = session.execute(
        select(
            Customer.external_id,
            ExperimentVariant.name,
            ExperimentAssignment.assigned_at,
            ExperimentAssignment.id,
        )
        .join(Customer, Customer.id == ExperimentAssignment.customer_id)
        .join(ExperimentVariant, ExperimentVariant.id == ExperimentAssignment.variant_id)
        .where(Customer.workspace_id == campaign.workspace_id)
    )
    return {name: (variant, at, row_id) for name, variant, at, row_id in rows}


# --- advocates ------------------------------------------------------------------------


def test_enrolling_assigns_each_advocate_by_hash(api: Any, session: Any, campaign: Any) -> None:
    define(api, campaign)
    before = utcnow()
    enroll_by_api(api, campaign.id, *ADVOCATES)
    recorded = assignments(session, campaign)
    assert {name: variant for name, (variant, _, _) in recorded.items()} == {
        name: variant_of(campaign.id, name) for name in ADVOCATES
    }
    assert all(at >= before - timedelta(seconds=1) for _, at, _ in recorded.values())


def test_the_results_count_enrolled_advocates_as_exposed(api: Any, campaign: Any) -> None:
    define(api, campaign)
    enroll_by_api(api, campaign.id, *ADVOCATES)
    body = api.get(experiment_url(campaign.id)).json
    expected = [
        sum(variant_of(campaign.id, a) == v for a in ADVOCATES) for v in ("one_way", "two_way")
    ]
    assert [v["exposures"] for v in body["variants"]] == expected


def test_refused_advocates_are_not_assigned(api: Any, session: Any, campaign: Any) -> None:
    define(api, campaign)
    api.put("/api/v1/customers/silent", json={"email": "silent@example.com"})  # no consent
    statuses = enroll_by_api(api, campaign.id, "silent", "nobody")
    assert set(statuses.values()) == {"refused"}
    assert assignments(session, campaign) == {}


def test_reenrolling_keeps_the_variant(api: Any, session: Any, campaign: Any) -> None:
    define(api, campaign)
    enroll_by_api(api, campaign.id, "adv1")
    first = assignments(session, campaign)["adv1"]
    assert api.delete(f"/api/v1/campaigns/{campaign.id}/enrollments/adv1").status_code == 204
    assert enroll_by_api(api, campaign.id, "adv1") == {"adv1": "enrolled"}
    assert enroll_by_api(api, campaign.id, "adv1") == {"adv1": "already_enrolled"}
    assert assignments(session, campaign) == {"adv1": first}


def test_enrolled_before_the_experiment_assigned_at_the_first_link(
    api: Any, session: Any, campaign: Any
) -> None:
    enroll_by_api(api, campaign.id, "adv1", "adv2")
    define(api, campaign)
    assert assignments(session, campaign) == {}
    issue_link(api, campaign.id, "adv1", channel="whatsapp")
    first = assignments(session, campaign)
    assert list(first) == ["adv1"]
    assert first["adv1"][0] == variant_of(campaign.id, "adv1")
    issue_link(api, campaign.id, "adv1", channel="email")
    issue_link(api, campaign.id, "adv1", channel="whatsapp")
    assert assignments(session, campaign) == first


def test_a_link_keeps_the_enrollment_assignment(api: Any, session: Any, campaign: Any) -> None:
    define(api, campaign)
    enroll_by_api(api, campaign.id, "adv1")
    enrolled = assignments(session, campaign)
    issue_link(api, campaign.id, "adv1")
    assert assignments(session, campaign) == enrolled


def test_the_assignment_endpoint_reports_automatic_ones_as_assigned(
    api: Any, campaign: Any
) -> None:
    define(api, campaign)
    enroll_by_api(api, campaign.id, "adv1")
    response = api.post(experiment_url(campaign.id, "/assignments"), json={"advocates": ["adv1"]})
    assert response.json["items"] == [
        {"advocate": "adv1", "variant": variant_of(campaign.id, "adv1"), "status": "assigned"}
    ]


def test_the_variants_are_final_once_an_enrollment_assigned_someone(
    api: Any, campaign: Any
) -> None:
    define(api, campaign)
    enroll_by_api(api, campaign.id, "adv1")
    assert api.put(experiment_url(campaign.id), json=definition()).status_code == 409


# --- invitees -------------------------------------------------------------------------


def test_an_invitee_experiment_assigns_no_advocate(api: Any, session: Any, campaign: Any) -> None:
    define(api, campaign, unit="invitee")
    enroll_by_api(api, campaign.id, "adv1")
    issue_link(api, campaign.id, "adv1")
    assert assignments(session, campaign) == {}


def test_an_invitee_is_assigned_when_their_conversion_is_attributed(
    api: Any, client: Any, session: Any, campaign: Any
) -> None:
    define(api, campaign, unit="invitee")
    enroll_by_api(api, campaign.id, "adv1")
    token = issue_link(api, campaign.id, "adv1")["token"]
    click(client, token)
    session.execute(update(Click).values(clicked_at=utcnow() - timedelta(minutes=10)))
    session.commit()
    bought = utcnow() - timedelta(minutes=3)  # reported three minutes late
    assert report(api, purchase("o-1", "zoe", ref=token, occurred_at=bought)).status_code == 201
    (variant, at, row_id) = assignments(session, campaign)["zoe"]
    assert variant == variant_of(campaign.id, "zoe")
    assert at == bought  # exposed at the conversion's time, not when it was reported
    assert report(api, purchase("o-2", "zoe", ref=token)).status_code == 201
    assert assignments(session, campaign) == {"zoe": (variant, at, row_id)}


def test_an_unattributed_conversion_assigns_nobody(api: Any, session: Any, campaign: Any) -> None:
    define(api, campaign, unit="invitee")
    assert report(api, purchase("o-1", "zoe")).json["attributed"] is False
    assert assignments(session, campaign) == {}


def test_results_count_invitees_and_their_conversions(api: Any, client: Any, campaign: Any) -> None:
    """A sign-up exposes the invitee (a purchase campaign); the later purchase converts them."""
    define(api, campaign, unit="invitee")
    enroll_by_api(api, campaign.id, "adv1")
    token = issue_link(api, campaign.id, "adv1")["token"]
    click(client, token)
    for invitee in ("zoe", "yan", "xia"):
        assert report(api, signup(f"s-{invitee}", invitee, ref=token)).status_code == 201
    assert report(api, purchase("o-zoe", "zoe", ref=token, amount=8000)).status_code == 201
    body = api.get(experiment_url(campaign.id)).json
    assert body["unit"] == "invitee"
    arms = {v["name"]: v for v in body["variants"]}
    for name in ("one_way", "two_way"):
        exposed = [i for i in ("zoe", "yan", "xia") if variant_of(campaign.id, i) == name]
        converted = int(variant_of(campaign.id, "zoe") == name)
        assert (arms[name]["exposures"], arms[name]["conversions"]) == (len(exposed), converted)
        assert arms[name]["revenue"] == 8000 * converted
