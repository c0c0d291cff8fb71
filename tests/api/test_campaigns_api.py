"""Campaigns through the HTTP API: rules, status transitions, audit trail, isolation."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from advocacy.campaigns.models import STATUSES
from advocacy.workspaces.models import ApiKey
from advocacy.workspaces.service import hash_key
from tests.factories import ApiClient, assert_problem

CAMPAIGNS = "/api/v1/campaigns"
CREDIT = {"kind": "credit", "amount": 1000, "currency": "EUR"}
COUPON = {"kind": "coupon", "amount": 1500, "currency": "EUR"}
# How to reach each status from draft.
PATH_TO = {"draft": [], "active": ["active"], "paused": ["active", "paused"], "ended": ["ended"]}
ALLOWED_TRANSITIONS = {
    ("draft", "active"),
    ("draft", "ended"),
    ("active", "paused"),
    ("active", "ended"),
    ("paused", "active"),
    ("paused", "ended"),
}


def campaign_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Spring referrals",
        "objective": "conversion",
        "inviter_reward": CREDIT,
        "invitee_reward": COUPON,
        "trigger": {"event": "purchase", "min_order_amount": 2000, "first_purchase_only": True},
        "landing_url": "https://shop.example/spring",
        "disclosure": "Ann gets EUR 10 credit for each friend who buys.",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def create(api: ApiClient, **overrides: Any) -> dict[str, Any]:
    response = api.post(CAMPAIGNS, json=campaign_body(**overrides))
    assert response.status_code == 201, response.json
    return response.json


def patch(api: ApiClient, campaign_id: int, **changes: Any) -> Any:
    return api.patch(f"{CAMPAIGNS}/{campaign_id}", json=changes)


def move_to(api: ApiClient, campaign_id: int, status: str) -> None:
    for step in PATH_TO[status]:
        response = patch(api, campaign_id, status=step)
        assert response.status_code == 200, response.json


def audit(api: ApiClient, campaign_id: int) -> list[dict[str, Any]]:
    response = api.get(f"{CAMPAIGNS}/{campaign_id}/audit", query_string={"limit": 100})
    assert response.status_code == 200, response.json
    return response.json["items"]


def key_id(session: Any, secret: str) -> int:
    return session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hash_key(secret)))


@pytest.fixture(autouse=True)
def allowed(api: ApiClient) -> None:
    response = api.put(
        "/api/v1/workspace/allowed-domains", json={"domains": ["shop.example", "*.cdn.example"]}
    )
    assert response.status_code == 200, response.json


@pytest.fixture
def campaign(api: ApiClient) -> dict[str, Any]:
    return create(api)


# --- create and read -----------------------------------------------------------------


def test_create_returns_a_draft_with_its_settings(api):
    body = create(api)

    assert body["status"] == "draft"
    assert body["live"] is False
    assert body["inviter_reward"] == CREDIT
    assert body["invitee_reward"] == COUPON
    assert body["one_sided"] is False
    assert body["trigger"] == {
        "event": "purchase",
        "min_order_amount": 2000,
        "first_purchase_only": True,
    }
    assert body["landing_url"] == "https://shop.example/spring"
    assert isinstance(body["id"], int)


def test_create_fills_defaults(api):
    body = create(api, trigger={"event": "signup"})

    assert body["trigger"] == {
        "event": "signup",
        "min_order_amount": 0,
        "first_purchase_only": False,
    }
    assert body["attribution_window_days"] == 30
    assert body["attribution_model"] == "last_click"
    assert body["hold_days"] == 0
    assert body["budget"] is None
    assert body["per_advocate_cap"] is None
    assert body["fallback_url"] is None
    assert body["translations"] == {}


def test_create_stores_normalised_urls(api):
    body = create(
        api, landing_url="HTTPS://Shop.Example:443/ä", fallback_url="https://img.CDN.example"
    )

    assert body["landing_url"] == "https://shop.example/%C3%A4"
    assert body["fallback_url"] == "https://img.cdn.example/"


def test_get_returns_the_campaign(api, campaign):
    response = api.get(f"{CAMPAIGNS}/{campaign['id']}")

    assert response.status_code == 200
    assert response.json == campaign


def test_get_missing_campaign_is_404(api):
    assert_problem(api.get(f"{CAMPAIGNS}/999999"), 404)


def test_huge_campaign_id_is_404(api):
    assert_problem(api.get(f"{CAMPAIGNS}/{2**64}"), 404)


def test_one_sided_invitee_only_campaign_needs_no_disclosure(api):
    body = create(api, inviter_reward=..., one_sided=True, disclosure=...)

    assert body["inviter_reward"] is None
    assert body["one_sided"] is True


def test_one_sided_inviter_only_campaign(api):
    body = create(api, invitee_reward=None, one_sided=True)

    assert body["invitee_reward"] is None


def test_points_reward_has_no_currency(api):
    body = create(api, inviter_reward={"kind": "points", "amount": 500})

    assert body["inviter_reward"] == {"kind": "points", "amount": 500, "currency": None}


def test_create_with_all_settings(api):
    body = create(
        api,
        objective="awareness",
        attribution_window_days=14,
        attribution_model="first_click",
        hold_days=30,
        budget=1_000_000,
        per_advocate_cap=5,
        starts_at="2026-06-01T00:00:00Z",
        ends_at="2026-07-01T00:00:00+02:00",
        fallback_url="https://shop.example/",
        translations={"de": {"headline": "Empfiehl uns", "disclosure": "Ann bekommt 10 EUR."}},
    )

    assert body["objective"] == "awareness"
    assert body["attribution_model"] == "first_click"
    assert body["budget"] == 1_000_000
    assert body["per_advocate_cap"] == 5
    assert body["ends_at"].startswith("2026-06-30T22:00:00")
    assert body["translations"]["de"]["headline"] == "Empfiehl uns"


# --- create: errors, each naming its field --------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"invitee_reward": ...}, "invitee_reward"),
        ({"inviter_reward": None, "disclosure": ...}, "inviter_reward"),
        ({"one_sided": True}, "one_sided"),
        ({"inviter_reward": None, "invitee_reward": None, "one_sided": True}, "inviter_reward"),
        ({"disclosure": ...}, "disclosure"),
        ({"disclosure": "   "}, "disclosure"),
        ({"starts_at": "2026-06-01T00:00:00Z", "ends_at": "2026-06-01T00:00:00Z"}, "ends_at"),
        ({"starts_at": "2026-06-01T00:00:00Z", "ends_at": "2026-05-01T00:00:00Z"}, "ends_at"),
    ],
)
def test_inconsistent_campaign_is_422_naming_the_field(api, overrides, field):
    response = api.post(CAMPAIGNS, json=campaign_body(**overrides))

    assert_problem(response, 422, field)


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.example/",
        "//evil.example/",
        "https://shop.example@evil.example/",
        "javascript:alert(1)",
        "https://evil.example/",
        "https://shop.example.evil.example/",
        "https://shоp.example/",
        "https://shop.example:8443/",
        "https://shop.example\\@evil.example",
        "https://cdn.example/",
    ],
)
def test_landing_url_outside_the_allow_list_is_422(api, url):
    assert_problem(api.post(CAMPAIGNS, json=campaign_body(landing_url=url)), 422, "landing_url")


def test_fallback_url_outside_the_allow_list_is_422(api):
    body = campaign_body(fallback_url="https://evil.example/")

    assert_problem(api.post(CAMPAIGNS, json=body), 422, "fallback_url")


def test_any_url_is_refused_while_no_domain_is_allowed(api):
    api.put("/api/v1/workspace/allowed-domains", json={"domains": []})

    response = api.post(CAMPAIGNS, json=campaign_body())

    assert_problem(response, 422, "landing_url")
    assert "allowed-domains" in response.json["errors"]["landing_url"][0]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ...}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"objective": "virality"}, "objective"),
        ({"trigger": ...}, "trigger"),
        ({"landing_url": ...}, "landing_url"),
        ({"status": "active"}, "status"),
        ({"workspace_id": 2}, "workspace_id"),
        ({"inviter_reward": {**CREDIT, "kind": "cash"}}, "inviter_reward.kind"),
        ({"inviter_reward": {**CREDIT, "amount": 10.5}}, "inviter_reward.amount"),
        ({"inviter_reward": {**CREDIT, "amount": "1000"}}, "inviter_reward.amount"),
        ({"inviter_reward": {**CREDIT, "amount": -1}}, "inviter_reward.amount"),
        ({"inviter_reward": {**CREDIT, "amount": 0}}, "inviter_reward.amount"),
        ({"inviter_reward": {"kind": "credit", "amount": 1}}, "inviter_reward.currency"),
        ({"inviter_reward": {**CREDIT, "currency": "eur"}}, "inviter_reward.currency"),
        (
            {"inviter_reward": {"kind": "points", "amount": 1, "currency": "EUR"}},
            "inviter_reward.currency",
        ),
        ({"inviter_reward": {**CREDIT, "extra": 1}}, "inviter_reward.extra"),
        ({"trigger": {"event": "visit"}}, "trigger.event"),
        ({"trigger": {"event": "signup", "min_order_amount": 100}}, "trigger.min_order_amount"),
        (
            {"trigger": {"event": "signup", "first_purchase_only": True}},
            "trigger.first_purchase_only",
        ),
        ({"trigger": {"event": "purchase", "min_order_amount": -5}}, "trigger.min_order_amount"),
        ({"attribution_window_days": 0}, "attribution_window_days"),
        ({"attribution_model": "linear"}, "attribution_model"),
        ({"hold_days": -1}, "hold_days"),
        ({"budget": -1}, "budget"),
        ({"per_advocate_cap": 0}, "per_advocate_cap"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"landing_url": "https://shop.example/" + "a" * 2048}, "landing_url"),
        ({"disclosure": "x" * 2001}, "disclosure"),
        ({"translations": {"de": {"slogan": "x"}}}, "translations.de.value.slogan"),
        ({"translations": {"not a locale": {"headline": "x"}}}, "translations.not a locale.key"),
        ({"translations": {"de": {"disclosure": ""}}}, "translations.de.value.disclosure"),
    ],
)
def test_malformed_campaign_is_422_naming_the_field(api, overrides, field):
    assert_problem(api.post(CAMPAIGNS, json=campaign_body(**overrides)), 422, field)


def test_translations_are_size_limited(api):
    translations = {
        f"l{chr(97 + i // 26)}{chr(97 + i % 26)}": {"body": "x" * 1000} for i in range(20)
    }

    assert_problem(
        api.post(CAMPAIGNS, json=campaign_body(translations=translations)), 422, "translations"
    )


def test_too_many_translations_are_422(api):
    translations = {f"l{chr(97 + i // 26)}{chr(97 + i % 26)}": {"headline": "x"} for i in range(31)}

    assert_problem(
        api.post(CAMPAIGNS, json=campaign_body(translations=translations)), 422, "translations"
    )


# --- list ------------------------------------------------------------------------------


def test_list_newest_first_with_cursor(api):
    ids = [create(api, name=f"c{i}")["id"] for i in range(3)]

    first = api.get(CAMPAIGNS, query_string={"limit": 2}).json
    second = api.get(CAMPAIGNS, query_string={"limit": 2, "cursor": first["next_cursor"]}).json

    assert [c["id"] for c in first["items"]] == ids[::-1][:2]
    assert [c["id"] for c in second["items"]] == ids[:1]
    assert second["next_cursor"] is None


def test_list_filters_by_status(api):
    draft = create(api)
    active = create(api)
    move_to(api, active["id"], "active")

    body = api.get(CAMPAIGNS, query_string={"status": "active"}).json

    assert [c["id"] for c in body["items"]] == [active["id"]]
    assert draft["id"] not in [c["id"] for c in body["items"]]


def test_list_with_invalid_cursor_is_422(api):
    assert_problem(api.get(CAMPAIGNS, query_string={"cursor": "garbage!"}), 422, "cursor")


# --- patch and status ------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(api, campaign):
    response = patch(api, campaign["id"], name="Summer", hold_days=14)

    assert response.status_code == 200
    assert response.json["name"] == "Summer"
    assert response.json["hold_days"] == 14
    assert response.json["inviter_reward"] == CREDIT


def test_empty_patch_changes_nothing(api, campaign):
    response = patch(api, campaign["id"])

    assert response.status_code == 200
    assert response.json == campaign


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_status_transitions(api, campaign, current, target):
    move_to(api, campaign["id"], current)

    response = patch(api, campaign["id"], status=target)

    if current == target or (current, target) in ALLOWED_TRANSITIONS:
        assert response.status_code == 200, response.json
        assert response.json["status"] == target
    else:
        assert_problem(response, 409, "status")
        assert response.json["detail"] == response.json["errors"]["status"][0]
        assert api.get(f"{CAMPAIGNS}/{campaign['id']}").json["status"] == current


def test_active_campaign_within_dates_is_live(api):
    campaign = create(api, starts_at="2020-01-01T00:00:00Z")
    move_to(api, campaign["id"], "active")

    assert api.get(f"{CAMPAIGNS}/{campaign['id']}").json["live"] is True


def test_active_campaign_before_its_start_is_not_live(api):
    campaign = create(api, starts_at="2099-01-01T00:00:00Z")
    move_to(api, campaign["id"], "active")

    assert api.get(f"{CAMPAIGNS}/{campaign['id']}").json["live"] is False


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"inviter_reward": {**CREDIT, "amount": 2000}}, "inviter_reward"),
        ({"invitee_reward": None, "one_sided": True}, "invitee_reward"),
        ({"trigger": {"event": "signup"}}, "trigger"),
    ],
)
def test_rewards_and_trigger_of_an_ended_campaign_are_final(api, campaign, changes, field):
    move_to(api, campaign["id"], "ended")

    assert_problem(patch(api, campaign["id"], **changes), 409, field)


def test_other_settings_of_an_ended_campaign_can_change(api, campaign):
    move_to(api, campaign["id"], "ended")

    response = patch(api, campaign["id"], name="Spring (archived)", inviter_reward=CREDIT)

    assert response.status_code == 200, response.json
    assert response.json["name"] == "Spring (archived)"


def test_patch_removing_a_reward_side_needs_one_sided(api, campaign):
    assert_problem(patch(api, campaign["id"], invitee_reward=None), 422, "invitee_reward")

    response = patch(api, campaign["id"], invitee_reward=None, one_sided=True)

    assert response.status_code == 200, response.json
    assert response.json["invitee_reward"] is None


def test_patch_removing_disclosure_while_inviter_is_rewarded_is_422(api, campaign):
    assert_problem(patch(api, campaign["id"], disclosure=None), 422, "disclosure")


def test_patch_ends_at_before_starts_at_is_422(api):
    campaign = create(api, starts_at="2026-06-01T00:00:00Z")

    response = patch(api, campaign["id"], ends_at="2026-05-01T00:00:00Z")

    assert_problem(response, 422, "ends_at")


def test_patch_landing_url_outside_the_allow_list_is_422(api, campaign):
    assert_problem(
        patch(api, campaign["id"], landing_url="https://evil.example/"), 422, "landing_url"
    )


@pytest.mark.parametrize(
    "changes", [{"name": None}, {"id": 5}, {"created_at": "2026-01-01T00:00:00Z"}]
)
def test_patch_with_bad_or_server_owned_fields_is_422(api, campaign, changes):
    field = next(iter(changes))

    assert_problem(patch(api, campaign["id"], **changes), 422, field)


def test_failed_patch_changes_nothing(api, campaign):
    patch(api, campaign["id"], name="Other", landing_url="https://evil.example/")

    assert api.get(f"{CAMPAIGNS}/{campaign['id']}").json == campaign


# --- audit trail -----------------------------------------------------------------------


def test_creation_records_initial_values_with_the_key(api, session, workspace, campaign):
    entries = audit(api, campaign["id"])

    assert {e["field"]: (e["old_value"], e["new_value"]) for e in entries} == {
        "status": (None, "draft"),
        "inviter_reward": (None, CREDIT),
        "invitee_reward": (None, COUPON),
        "landing_url": (None, "https://shop.example/spring"),
        "disclosure": (None, "Ann gets EUR 10 credit for each friend who buys."),
    }
    assert {e["api_key_id"] for e in entries} == {key_id(session, workspace.admin_key)}
    assert all(e["at"] == campaign["created_at"] for e in entries)


def test_changes_are_recorded_one_row_per_field_with_who_and_old_and_new(
    api, client, session, workspace, campaign
):
    staff_key = workspace.key(session, "campaigns")
    staff = ApiClient(client, staff_key)
    before = len(audit(api, campaign["id"]))

    response = patch(
        staff,
        campaign["id"],
        status="active",
        inviter_reward={**CREDIT, "amount": 2000},
        fallback_url="https://shop.example/",
        disclosure="Ann gets EUR 20.",
        name="Not audited",
        hold_days=7,
    )
    assert response.status_code == 200, response.json

    entries = audit(api, campaign["id"])[before:]
    assert {e["field"]: (e["old_value"], e["new_value"]) for e in entries} == {
        "status": ("draft", "active"),
        "inviter_reward": (CREDIT, {**CREDIT, "amount": 2000}),
        "fallback_url": (None, "https://shop.example/"),
        "disclosure": ("Ann gets EUR 10 credit for each friend who buys.", "Ann gets EUR 20."),
    }
    assert {e["api_key_id"] for e in entries} == {key_id(session, staff_key)}
    assert all(e["at"] == response.json["updated_at"] for e in entries)


def test_landing_url_change_is_audited_in_normalised_form(api, campaign):
    patch(api, campaign["id"], landing_url="https://img.CDN.example/x")

    (entry,) = audit(api, campaign["id"])[5:]
    assert entry["field"] == "landing_url"
    assert entry["old_value"] == "https://shop.example/spring"
    assert entry["new_value"] == "https://img.cdn.example/x"


def test_removing_a_reward_side_is_audited(api, campaign):
    patch(api, campaign["id"], invitee_reward=None, one_sided=True)

    (entry,) = audit(api, campaign["id"])[5:]
    assert (entry["field"], entry["old_value"], entry["new_value"]) == (
        "invitee_reward",
        COUPON,
        None,
    )


def test_translated_disclosure_changes_are_audited(api, campaign):
    patch(api, campaign["id"], translations={"de": {"disclosure": "Ann bekommt 10 EUR."}})
    patch(api, campaign["id"], translations={"de": {"disclosure": "Ann bekommt 20 EUR."}})

    entries = [(e["field"], e["old_value"], e["new_value"]) for e in audit(api, campaign["id"])[5:]]
    assert entries == [
        ("translations.de.disclosure", None, "Ann bekommt 10 EUR."),
        ("translations.de.disclosure", "Ann bekommt 10 EUR.", "Ann bekommt 20 EUR."),
    ]


def test_unchanged_values_are_not_audited(api, campaign):
    response = patch(
        api,
        campaign["id"],
        status="draft",
        inviter_reward=CREDIT,
        landing_url="HTTPS://SHOP.example:443/spring",
    )

    assert response.status_code == 200
    assert len(audit(api, campaign["id"])) == 5


def test_refused_changes_are_not_audited(api, campaign):
    move_to(api, campaign["id"], "ended")
    count = len(audit(api, campaign["id"]))

    patch(api, campaign["id"], status="active")
    patch(api, campaign["id"], inviter_reward={**CREDIT, "amount": 1})

    assert len(audit(api, campaign["id"])) == count


def test_audit_pages_with_a_cursor(api, campaign):
    move_to(api, campaign["id"], "paused")
    url = f"{CAMPAIGNS}/{campaign['id']}/audit"

    first = api.get(url, query_string={"limit": 4}).json
    second = api.get(url, query_string={"limit": 4, "cursor": first["next_cursor"]}).json

    fields = [e["field"] for e in first["items"] + second["items"]]
    assert fields[-2:] == ["status", "status"]
    assert len(fields) == 7
    assert second["next_cursor"] is None


def test_audit_with_invalid_cursor_is_422(api, campaign):
    url = f"{CAMPAIGNS}/{campaign['id']}/audit"

    assert_problem(api.get(url, query_string={"cursor": "WzEsMl0"}), 422, "cursor")


# --- auth and isolation ----------------------------------------------------------------


def test_without_a_key_is_401(client, campaign):
    assert_problem(client.get(CAMPAIGNS), 401)
    assert_problem(client.post(CAMPAIGNS, json=campaign_body()), 401)


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("post", "", campaign_body()),
        ("patch", "/{id}", {"name": "x"}),
    ],
)
def test_writes_need_the_campaigns_scope(
    client, session, workspace, campaign, method, suffix, body
):
    reader = ApiClient(client, workspace.key(session, "read", "write"))

    response = getattr(reader, method)(CAMPAIGNS + suffix.format(id=campaign["id"]), json=body)

    assert_problem(response, 403)


def test_reads_need_the_read_scope(client, session, workspace, campaign):
    writer = ApiClient(client, workspace.key(session, "campaigns"))
    reader = ApiClient(client, workspace.key(session, "read"))

    assert_problem(writer.get(CAMPAIGNS), 403)
    assert reader.get(CAMPAIGNS).status_code == 200
    assert reader.get(f"{CAMPAIGNS}/{campaign['id']}").status_code == 200
    assert reader.get(f"{CAMPAIGNS}/{campaign['id']}/audit").status_code == 200


def test_campaigns_key_can_create_and_change(client, session, workspace):
    staff = ApiClient(client, workspace.key(session, "campaigns"))

    created = staff.post(CAMPAIGNS, json=campaign_body())
    changed = staff.patch(f"{CAMPAIGNS}/{created.json['id']}", json={"status": "active"})

    assert (created.status_code, changed.status_code) == (201, 200)


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"name": "Stolen"}),
        ("patch", "", {"status": "ended"}),
        ("get", "/audit", None),
        ("get", "/enrollments", None),
        ("post", "/enrollments", {"customers": ["ann"]}),
        ("delete", "/enrollments/ann", None),
    ],
)
def test_other_workspace_gets_404_everywhere(api, other_api, campaign, method, suffix, body):
    theirs = getattr(other_api, method)(f"{CAMPAIGNS}/{campaign['id']}{suffix}", json=body)
    missing = getattr(other_api, method)(f"{CAMPAIGNS}/999999{suffix}", json=body)

    assert_problem(theirs, 404)
    assert theirs.json["detail"] == missing.json["detail"].replace("999999", str(campaign["id"]))
    assert api.get(f"{CAMPAIGNS}/{campaign['id']}").json == campaign


def test_list_shows_only_own_workspace(api, other_api, campaign):
    assert other_api.get(CAMPAIGNS).json["items"] == []
    assert [c["id"] for c in api.get(CAMPAIGNS).json["items"]] == [campaign["id"]]


def test_other_workspace_allow_list_does_not_apply(other_api):
    other_api.put("/api/v1/workspace/allowed-domains", json={"domains": ["rival.example"]})

    response = other_api.post(CAMPAIGNS, json=campaign_body())

    assert_problem(response, 422, "landing_url")
