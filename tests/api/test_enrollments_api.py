"""Enrolling advocates into campaigns: by name or by strategy over the ranking."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from advocacy.campaigns import service
from advocacy.campaigns.enrollments import get_enrollment
from advocacy.campaigns.models import Campaign, CampaignAudit, Enrollment
from advocacy.customers.models import Customer
from advocacy.errors import NotFound
from advocacy.extensions import db
from advocacy.workspaces import service as workspaces
from advocacy.workspaces.models import ApiKey, Workspace
from tests.factories import ApiClient, ago, overlapping_fan_groups

CONSENT = {"email": True}


def put_customer(api: ApiClient, external_id: str, consent: dict[str, bool] | None = None) -> None:
    body = {
        "email": f"{external_id}@example.com",
        "consent": CONSENT if consent is None else consent,
    }
    response = api.put(f"/api/v1/customers/{external_id}", json=body)
    assert response.status_code == 200, response.json


def post_items(api: ApiClient, url: str, items: list[dict[str, Any]]) -> None:
    response = api.post(url, json={"items": items})
    assert response.status_code == 200, response.json
    assert response.json["summary"]["rejected"] == 0, response.json


def create_campaign(api: ApiClient, **overrides: Any) -> dict[str, Any]:
    response = api.put("/api/v1/workspace/allowed-domains", json={"domains": ["shop.example"]})
    assert response.status_code == 200, response.json
    body = {
        "name": "Spring",
        "objective": "conversion",
        "inviter_reward": {"kind": "credit", "amount": 1000, "currency": "EUR"},
        "invitee_reward": {"kind": "coupon", "amount": 1500, "currency": "EUR"},
        "trigger": {"event": "purchase"},
        "landing_url": "https://shop.example/",
        "disclosure": "Your friend gets EUR 10 when you buy.",
        **overrides,
    }
    response = api.post("/api/v1/campaigns", json=body)
    assert response.status_code == 201, response.json
    return response.json


def enroll(api: ApiClient, campaign_id: int, **body: Any) -> Any:
    return api.post(f"/api/v1/campaigns/{campaign_id}/enrollments", json=body)


def enroll_ok(api: ApiClient, campaign_id: int, **body: Any) -> dict[str, Any]:
    response = enroll(api, campaign_id, **body)
    assert response.status_code == 200, response.json
    return response.json


def by_customer(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["customer"]: r for r in report["results"]}


def enrollments(api: ApiClient, campaign_id: int, **query: Any) -> list[dict[str, Any]]:
    response = api.get(
        f"/api/v1/campaigns/{campaign_id}/enrollments", query_string={"limit": 100, **query}
    )
    assert response.status_code == 200, response.json
    return response.json["items"]


def rank(api: ApiClient) -> None:
    assert api.post("/api/v1/advocates/rank").status_code == 201


@pytest.fixture
def campaign(api: ApiClient) -> dict[str, Any]:
    return create_campaign(api)


@pytest.fixture
def people(api: ApiClient) -> ApiClient:
    """ann and bob may be contacted; mute may not."""
    put_customer(api, "ann")
    put_customer(api, "bob", consent={"sms": True})
    put_customer(api, "mute", consent={})
    return api


@pytest.fixture
def ranked(api: ApiClient) -> ApiClient:
    """A quiet promoter with fans, a loud detractor, and a promoter who gave no consent."""
    for external_id in ["quiet", "loud", *[f"fan-{i}" for i in range(6)]]:
        put_customer(api, external_id)
    put_customer(api, "mute", consent={})
    post_items(
        api,
        "/api/v1/events",
        [
            {"customer": "loud", "kind": "nps", "value": 1, "occurred_at": ago(7)},
            {"customer": "quiet", "kind": "nps", "value": 10, "occurred_at": ago(20)},
            {"customer": "mute", "kind": "nps", "value": 10, "occurred_at": ago(20)},
        ],
    )
    post_items(
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
        ],
    )
    post_items(
        api,
        "/api/v1/connections",
        [{"source": f"fan-{i}", "target": "quiet", "channel": "x", "replies": 8} for i in range(6)],
    )
    rank(api)
    return api


@pytest.fixture
def groups(api: ApiClient) -> ApiClient:
    """Two groups of fans: the big group's all reach the same people (see factories)."""
    overlapping_fan_groups(api, ago)
    rank(api)
    return api


# --- by name, before any ranking --------------------------------------------------------


def test_named_customers_are_enrolled_and_marked_not_ranked_yet(people, campaign):
    report = enroll_ok(people, campaign["id"], customers=["ann", "bob"])

    assert report["method"] == "manual"
    assert report["snapshot"] is None
    assert report["summary"] == {"enrolled": 2, "already_enrolled": 0, "refused": 0}
    assert {r["status"] for r in report["results"]} == {"enrolled"}
    assert {r["note"] for r in report["results"]} == {"not ranked yet"}


def test_unknown_customer_is_refused_by_name(people, campaign):
    report = enroll_ok(people, campaign["id"], customers=["ann", "ghost"])

    ghost = by_customer(report)["ghost"]
    assert (ghost["status"], ghost["reason"]) == ("refused", "unknown_customer")
    assert by_customer(report)["ann"]["status"] == "enrolled"


def test_customer_without_contact_consent_is_refused(people, campaign):
    report = enroll_ok(people, campaign["id"], customers=["mute"])

    mute = by_customer(report)["mute"]
    assert (mute["status"], mute["reason"]) == ("refused", "no_contact_consent")
    assert "consent" in mute["detail"]
    assert enrollments(people, campaign["id"]) == []


def test_erased_customer_is_unknown(people, campaign):
    people.delete("/api/v1/customers/ann")

    report = enroll_ok(people, campaign["id"], customers=["ann"])

    assert by_customer(report)["ann"]["reason"] == "unknown_customer"


def test_enrolling_again_is_reported_already_enrolled(people, campaign):
    enroll_ok(people, campaign["id"], customers=["ann"])

    report = enroll_ok(people, campaign["id"], customers=["ann", "bob"])

    assert by_customer(report)["ann"]["status"] == "already_enrolled"
    assert by_customer(report)["bob"]["status"] == "enrolled"
    assert report["summary"] == {"enrolled": 1, "already_enrolled": 1, "refused": 0}
    assert len(enrollments(people, campaign["id"])) == 2


def test_duplicates_in_one_request_are_answered_once(people, campaign):
    report = enroll_ok(people, campaign["id"], customers=["ann", "ann", "bob", "ann"])

    assert [r["customer"] for r in report["results"]] == ["ann", "bob"]
    assert len(enrollments(people, campaign["id"])) == 2


def test_enrollment_list_says_how_and_by_whom(people, session, workspace, campaign, client):
    staff = ApiClient(client, workspace.key(session, "campaigns", "read"))
    staff_id = session.scalar(select(func.max(ApiKey.id)))
    enroll_ok(staff, campaign["id"], customers=["ann"])

    (item,) = enrollments(people, campaign["id"])

    assert item["customer"] == "ann"
    assert item["method"] == "manual"
    assert item["active"] is True
    assert item["enrolled_by_key_id"] == staff_id
    assert item["snapshot_id"] is None and item["snapshot_version"] is None
    assert item["position"] is None and item["withdrawn_at"] is None
    assert item["enrolled_at"]


def test_enrollment_list_pages_with_a_cursor(people, campaign):
    enroll_ok(people, campaign["id"], customers=["ann", "bob"])
    url = f"/api/v1/campaigns/{campaign['id']}/enrollments"

    first = people.get(url, query_string={"limit": 1}).json
    second = people.get(url, query_string={"limit": 1, "cursor": first["next_cursor"]}).json

    assert [i["customer"] for i in first["items"] + second["items"]] == ["ann", "bob"]
    assert second["next_cursor"] is None


def test_enrollment_list_with_invalid_cursor_is_422(people, campaign):
    response = people.get(
        f"/api/v1/campaigns/{campaign['id']}/enrollments", query_string={"cursor": "!!"}
    )

    assert response.status_code == 422
    assert "cursor" in response.json["errors"]


# --- withdrawal ---------------------------------------------------------------------------


def test_withdraw_sets_withdrawn_at(people, campaign):
    enroll_ok(people, campaign["id"], customers=["ann", "bob"])

    response = people.delete(f"/api/v1/campaigns/{campaign['id']}/enrollments/ann")

    assert response.status_code == 204
    items = {i["customer"]: i for i in enrollments(people, campaign["id"])}
    assert items["ann"]["active"] is False and items["ann"]["withdrawn_at"]
    assert items["bob"]["active"] is True
    assert [i["customer"] for i in enrollments(people, campaign["id"], withdrawn="true")] == ["ann"]
    assert [i["customer"] for i in enrollments(people, campaign["id"], withdrawn="false")] == [
        "bob"
    ]


@pytest.mark.parametrize("who", ["bob", "ghost", "mute"])
def test_withdrawing_someone_not_enrolled_is_404(people, campaign, who):
    enroll_ok(people, campaign["id"], customers=["ann"])

    response = people.delete(f"/api/v1/campaigns/{campaign['id']}/enrollments/{who}")

    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


def test_withdrawing_twice_is_404(people, campaign):
    enroll_ok(people, campaign["id"], customers=["ann"])
    url = f"/api/v1/campaigns/{campaign['id']}/enrollments/ann"

    assert people.delete(url).status_code == 204
    assert people.delete(url).status_code == 404


def test_withdrawn_advocate_can_be_enrolled_again(people, campaign):
    enroll_ok(people, campaign["id"], customers=["ann"])
    people.delete(f"/api/v1/campaigns/{campaign['id']}/enrollments/ann")

    report = enroll_ok(people, campaign["id"], customers=["ann"])

    assert by_customer(report)["ann"]["status"] == "enrolled"
    (item,) = enrollments(people, campaign["id"])
    assert item["active"] is True and item["withdrawn_at"] is None


def test_service_lookups_for_the_click_path(people, session, workspace, campaign):
    enroll_ok(people, campaign["id"], customers=["ann"])
    found = get_enrollment(
        session, workspace_id=workspace.id, campaign_id=campaign["id"], customer_external_id="ann"
    )
    assert found.withdrawn_at is None
    people.delete(f"/api/v1/campaigns/{campaign['id']}/enrollments/ann")

    with pytest.raises(NotFound):
        get_enrollment(
            session,
            workspace_id=workspace.id,
            campaign_id=campaign["id"],
            customer_external_id="ann",
        )
    with pytest.raises(NotFound):
        get_enrollment(
            session,
            workspace_id=workspace.id,
            campaign_id=campaign["id"],
            customer_external_id="bob",
        )
    with pytest.raises(NotFound):
        service.get_campaign(session, workspace_id=workspace.id + 1000, campaign_id=campaign["id"])


# --- by name, with a ranking ------------------------------------------------------------


def test_detractor_is_refused_with_the_gate(ranked, campaign):
    report = enroll_ok(ranked, campaign["id"], customers=["loud"])

    loud = by_customer(report)["loud"]
    assert (loud["status"], loud["reason"]) == ("refused", "detractor")
    assert "detractor_nps" in loud["detail"]


def test_ranked_customer_is_enrolled_with_the_snapshot_and_score(ranked):
    campaign = create_campaign(ranked, objective="awareness")
    expected = ranked.get("/api/v1/advocates/quiet", query_string={"objective": "awareness"}).json

    report = enroll_ok(ranked, campaign["id"], customers=["quiet"])

    assert report["snapshot"]["version"] == 1
    quiet = by_customer(report)["quiet"]
    assert quiet["status"] == "enrolled" and quiet["note"] is None
    assert quiet["score"] == pytest.approx(expected["score"])
    (item,) = enrollments(ranked, campaign["id"])
    assert item["snapshot_version"] == 1
    assert item["snapshot_id"] == report["snapshot"]["id"]
    assert item["score"] == pytest.approx(expected["score"])


def test_customer_added_after_the_ranking_is_enrolled_not_ranked_yet(ranked, campaign):
    put_customer(ranked, "newbie")

    report = enroll_ok(ranked, campaign["id"], customers=["newbie"])

    assert by_customer(report)["newbie"]["note"] == "not ranked yet"


def test_mixed_request_answers_per_customer(ranked, campaign):
    enroll_ok(ranked, campaign["id"], customers=["fan-0"])

    report = enroll_ok(
        ranked, campaign["id"], customers=["quiet", "loud", "mute", "ghost", "fan-0"]
    )

    statuses = {c: (r["status"], r["reason"]) for c, r in by_customer(report).items()}
    assert statuses == {
        "quiet": ("enrolled", None),
        "loud": ("refused", "detractor"),
        "mute": ("refused", "no_contact_consent"),
        "ghost": ("refused", "unknown_customer"),
        "fan-0": ("already_enrolled", None),
    }
    assert report["summary"] == {"enrolled": 1, "already_enrolled": 1, "refused": 3}


# --- by strategy --------------------------------------------------------------------------


def test_strategy_without_a_ranking_is_409_with_a_hint(people, campaign):
    response = enroll(people, campaign["id"], strategy="top", k=2)

    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    assert "strategy" in response.json["errors"]
    assert "/api/v1/advocates/rank" in response.json["detail"]


def test_top_strategy_enrolls_contactable_eligible_customers_with_an_audience_only(
    ranked, campaign
):
    report = enroll_ok(ranked, campaign["id"], strategy="top", k=100)

    # The fans listen to "quiet" but nobody listens to them: asking them would bring
    # nobody (expected value 0), so they are not chosen; nor are "loud" (a detractor, a
    # negative value) and "mute" (no consent).
    enrolled = {r["customer"] for r in report["results"]}
    assert enrolled == {"quiet"}
    assert report["method"] == "top"
    assert [r["position"] for r in report["results"]] == [1]
    assert report["results"][0]["score"] > 0


def test_top_and_coverage_enroll_by_the_campaign_objective(groups):
    campaign = create_campaign(groups, objective="awareness")
    other = create_campaign(groups, objective="awareness")

    top = enroll_ok(groups, campaign["id"], strategy="top", k=4)
    coverage = enroll_ok(groups, other["id"], strategy="coverage", k=4)

    assert {r["customer"].split("-")[0] for r in top["results"]} == {"big"}
    assert {r["customer"].split("-")[0] for r in coverage["results"]} == {"big", "small"}
    assert coverage["expected_reach"] > top["expected_reach"]
    items = enrollments(groups, other["id"])
    assert {i["method"] for i in items} == {"coverage"}
    assert [i["position"] for i in items] == [1, 2, 3, 4]
    assert all(i["marginal_gain"] > 0 for i in items)
    assert {i["snapshot_version"] for i in items} == {1}
    assert [i["customer"] for i in items] == [r["customer"] for r in coverage["results"]]


def test_spread_strategy_enrolls(groups, campaign):
    report = enroll_ok(groups, campaign["id"], strategy="spread", k=2)

    assert report["method"] == "spread"
    assert report["summary"]["enrolled"] == 2


def test_repeating_a_strategy_is_idempotent(groups, campaign):
    first = enroll_ok(groups, campaign["id"], strategy="coverage", k=2)

    again = enroll_ok(groups, campaign["id"], strategy="coverage", k=2)

    assert again["summary"] == {"enrolled": 0, "already_enrolled": 2, "refused": 0}
    assert [r["customer"] for r in again["results"]] == [r["customer"] for r in first["results"]]
    assert len(enrollments(groups, campaign["id"])) == 2


def test_strategy_skips_withdrawn_advocates(groups, campaign):
    (first,) = enroll_ok(groups, campaign["id"], strategy="top", k=1)["results"]
    groups.delete(f"/api/v1/campaigns/{campaign['id']}/enrollments/{first['customer']}")

    (second,) = enroll_ok(groups, campaign["id"], strategy="top", k=1)["results"]

    assert second["customer"] != first["customer"]
    assert second["status"] == "enrolled"


# --- refusals of the whole request ----------------------------------------------------------


def test_enrolling_into_an_ended_campaign_is_409(people, campaign):
    people.patch(f"/api/v1/campaigns/{campaign['id']}", json={"status": "ended"})

    response = enroll(people, campaign["id"], customers=["ann"])

    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    assert "ended" in response.json["detail"]


def test_paused_campaign_accepts_enrollments(people, campaign):
    people.patch(f"/api/v1/campaigns/{campaign['id']}", json={"status": "active"})
    people.patch(f"/api/v1/campaigns/{campaign['id']}", json={"status": "paused"})

    assert enroll_ok(people, campaign["id"], customers=["ann"])["summary"]["enrolled"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "customers"),
        ({"customers": []}, "customers"),
        ({"customers": [f"c{i}" for i in range(1001)]}, "customers"),
        ({"customers": ["a/b"]}, "customers.0"),
        ({"customers": "ann"}, "customers"),
        ({"customers": ["ann"], "strategy": "top", "k": 1}, "strategy"),
        ({"customers": ["ann"], "k": 1}, "k"),
        ({"strategy": "top"}, "k"),
        ({"strategy": "random", "k": 1}, "strategy"),
        ({"strategy": "top", "k": 0}, "k"),
        ({"strategy": "top", "k": 1001}, "k"),
        ({"strategy": "top", "k": "2"}, "k"),
        ({"customers": ["ann"], "method": "manual"}, "method"),
    ],
)
def test_malformed_requests_are_422_naming_the_field(people, campaign, body, field):
    response = people.post(f"/api/v1/campaigns/{campaign['id']}/enrollments", json=body)

    assert response.status_code == 422
    assert field in response.json["errors"], response.json


def test_missing_campaign_is_404(people):
    assert enroll(people, 424242, customers=["ann"]).status_code == 404
    assert people.get("/api/v1/campaigns/424242/enrollments").status_code == 404


# --- auth -----------------------------------------------------------------------------------


def test_enrolling_and_withdrawing_need_the_campaigns_scope(
    people, client, session, workspace, campaign
):
    reader = ApiClient(client, workspace.key(session, "read", "write"))
    enroll_ok(people, campaign["id"], customers=["ann"])

    assert enroll(reader, campaign["id"], customers=["bob"]).status_code == 403
    assert reader.delete(f"/api/v1/campaigns/{campaign['id']}/enrollments/ann").status_code == 403
    assert reader.get(f"/api/v1/campaigns/{campaign['id']}/enrollments").status_code == 200


def test_listing_needs_the_read_scope(people, client, session, workspace, campaign):
    staff = ApiClient(client, workspace.key(session, "campaigns"))

    assert staff.get(f"/api/v1/campaigns/{campaign['id']}/enrollments").status_code == 403
    assert enroll(staff, campaign["id"], customers=["ann"]).status_code == 200


def test_without_a_key_is_401(client, campaign):
    response = client.post(
        f"/api/v1/campaigns/{campaign['id']}/enrollments", json={"customers": ["ann"]}
    )

    assert response.status_code == 401


def test_other_workspace_customers_cannot_be_enrolled(people, other_api):
    other_campaign = create_campaign(other_api)

    report = enroll_ok(other_api, other_campaign["id"], customers=["ann"])

    assert by_customer(report)["ann"]["reason"] == "unknown_customer"


# --- concurrency ----------------------------------------------------------------------------

THREADS = 8


@pytest.fixture
def committed(app: Flask) -> Iterator[tuple[int, str, int]]:
    """A workspace, a customer and a campaign committed for real: threads need their own
    transactions, so the rolled-back test transaction cannot hold them."""
    with app.app_context():
        workspace = workspaces.create_workspace(db.session, name="Enrollment race")
        key = workspaces.create_api_key(
            db.session, workspace_id=workspace.id, name="race", scopes=["admin"]
        )
        db.session.commit()
        workspace_id = workspace.id
    api = ApiClient(app.test_client(), key.secret)
    put_customer(api, "racer")
    campaign = create_campaign(api)
    yield workspace_id, key.secret, campaign["id"]
    with app.app_context():
        for model in (Enrollment, CampaignAudit, Campaign, Customer, ApiKey):
            db.session.execute(delete(model).where(model.workspace_id == workspace_id))
        db.session.execute(delete(Workspace).where(Workspace.id == workspace_id))
        db.session.commit()


def test_concurrent_enrollments_of_one_advocate_enroll_them_once(app, committed):
    workspace_id, key, campaign_id = committed
    barrier = threading.Barrier(THREADS)
    statuses: list[tuple[int, str]] = []

    def worker() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            f"/api/v1/campaigns/{campaign_id}/enrollments",
            json={"customers": ["racer"]},
            headers={"Authorization": f"Bearer {key}"},
        )
        status = response.json["results"][0]["status"] if response.status_code == 200 else "-"
        statuses.append((response.status_code, status))

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == sorted(
        [(200, "enrolled")] + [(200, "already_enrolled")] * (THREADS - 1)
    )
    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(Enrollment)
            .where(Enrollment.workspace_id == workspace_id)
        )
    assert count == 1
