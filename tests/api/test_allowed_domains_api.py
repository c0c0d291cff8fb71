"""The workspace's allow-list of domains that campaign URLs may point to."""

from __future__ import annotations

from typing import Any

import pytest

from advocacy.campaigns.urls import check_url
from tests.factories import ApiClient

URL = "/api/v1/workspace/allowed-domains"


def put_domains(api: ApiClient, *domains: str) -> Any:
    return api.put(URL, json={"domains": list(domains)})


def create_campaign(api: ApiClient, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Spring",
        "objective": "conversion",
        "invitee_reward": {"kind": "coupon", "amount": 500, "currency": "EUR"},
        "one_sided": True,
        "trigger": {"event": "signup"},
        "landing_url": "https://shop.example/spring",
        **overrides,
    }
    response = api.post("/api/v1/campaigns", json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_a_new_workspace_allows_no_domain(api):
    response = api.get(URL)

    assert response.status_code == 200
    assert response.json == {"domains": [], "campaigns_outside": []}


def test_put_replaces_the_list_with_normalised_entries(api):
    put_domains(api, "old.example")

    response = put_domains(
        api,
        "Shop.Example",
        "shop.example:443",
        "*.CDN.example",
        "bücher.example",
        "pay.example:8443",
    )

    assert response.status_code == 200, response.json
    expected = ["shop.example", "*.cdn.example", "xn--bcher-kva.example", "pay.example:8443"]
    assert response.json["domains"] == expected
    assert api.get(URL).json["domains"] == expected


def test_put_an_empty_list_clears_it(api):
    put_domains(api, "shop.example")

    assert put_domains(api).json["domains"] == []


@pytest.mark.parametrize(
    "entry",
    [
        "https://shop.example",
        "shop.example/path",
        "*.com",
        "shop",
        "127.0.0.1",
        "sh*p.example",
        " x.example",
    ],
)
def test_invalid_entries_are_422_by_index(api, entry):
    response = put_domains(api, "shop.example", entry)

    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert list(response.json["errors"]) == ["domains.1"]
    assert api.get(URL).json["domains"] == []


@pytest.mark.parametrize(
    "body",
    [{}, {"domains": "shop.example"}, {"domains": ["shop.example"], "extra": 1}, {"domains": [""]}],
)
def test_malformed_bodies_are_422(api, body):
    response = api.put(URL, json=body)

    assert response.status_code == 422
    assert response.json["errors"]


def test_at_most_100_domains(api):
    response = put_domains(api, *[f"d{i}.example" for i in range(101)])

    assert response.status_code == 422
    assert "domains" in response.json["errors"]


def test_put_needs_the_admin_scope(client, session, workspace):
    staff = ApiClient(client, workspace.key(session, "campaigns", "read", "write"))

    response = put_domains(staff, "evil.example")

    assert response.status_code == 403
    assert response.content_type == "application/problem+json"


def test_get_needs_only_the_read_scope(client, session, workspace):
    reader = ApiClient(client, workspace.key(session, "read"))

    assert reader.get(URL).status_code == 200


def test_without_a_key_is_401(client):
    assert client.get(URL).status_code == 401
    assert client.put(URL, json={"domains": []}).status_code == 401


def test_each_workspace_has_its_own_list(api, other_api):
    put_domains(api, "shop.example")
    put_domains(other_api, "rival.example")

    assert api.get(URL).json["domains"] == ["shop.example"]
    assert other_api.get(URL).json["domains"] == ["rival.example"]


def test_shrinking_the_list_keeps_campaign_urls_and_reports_them(api):
    put_domains(api, "shop.example", "*.cdn.example")
    outside = create_campaign(api, fallback_url="https://img.cdn.example/")
    inside = create_campaign(api)

    response = put_domains(api, "shop.example")

    assert response.json["campaigns_outside"] == [outside["id"]]
    assert api.get(URL).json["campaigns_outside"] == [outside["id"]]
    kept = api.get(f"/api/v1/campaigns/{outside['id']}").json
    assert kept["fallback_url"] == "https://img.cdn.example/"
    assert inside["id"] not in response.json["campaigns_outside"]


def test_the_click_path_recheck_refuses_urls_no_longer_allowed(api):
    put_domains(api, "shop.example", "*.cdn.example")
    campaign = create_campaign(api, landing_url="https://img.cdn.example/spring")
    put_domains(api, "shop.example")
    domains = api.get(URL).json["domains"]

    with pytest.raises(ValueError):
        check_url(campaign["landing_url"], domains)


def test_campaign_with_a_url_no_longer_allowed_can_still_change_other_fields(api):
    put_domains(api, "shop.example", "*.cdn.example")
    campaign = create_campaign(api, landing_url="https://img.cdn.example/spring")
    put_domains(api, "shop.example")

    response = api.patch(f"/api/v1/campaigns/{campaign['id']}", json={"name": "Renamed"})

    assert response.status_code == 200, response.json
    assert response.json["landing_url"] == "https://img.cdn.example/spring"


def test_setting_a_url_no_longer_allowed_is_422(api):
    put_domains(api, "shop.example", "*.cdn.example")
    campaign = create_campaign(api)
    put_domains(api, "shop.example")

    response = api.patch(
        f"/api/v1/campaigns/{campaign['id']}", json={"landing_url": "https://img.cdn.example/"}
    )

    assert response.status_code == 422
    assert "landing_url" in response.json["errors"]


def test_ended_campaigns_are_not_reported_outside(api):
    put_domains(api, "shop.example", "*.cdn.example")
    campaign = create_campaign(api, landing_url="https://img.cdn.example/spring")
    api.patch(f"/api/v1/campaigns/{campaign['id']}", json={"status": "ended"})

    assert put_domains(api, "shop.example").json["campaigns_outside"] == []
