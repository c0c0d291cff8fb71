"""POST/GET/DELETE /api/v1/webhooks: https only, public addresses only, admin scope."""

from __future__ import annotations

import pytest

from tests.factories import ApiClient

PUBLIC = "https://93.184.216.34/hooks/advocacy"


def test_registering_answers_the_secret_once(api, workspace):
    response = api.post("/api/v1/webhooks", json={"url": PUBLIC, "event_types": ["reward.issued"]})
    assert response.status_code == 201
    assert response.json["secret"].startswith("whsec_")
    listed = api.get("/api/v1/webhooks").json["items"]
    assert [s["url"] for s in listed] == [PUBLIC]
    assert "secret" not in listed[0]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest",
        "https://[::1]/hook",
        "http://93.184.216.34/hook",
    ],
)
def test_private_loopback_and_plain_http_targets_are_refused(api, workspace, url):
    response = api.post("/api/v1/webhooks", json={"url": url})
    assert response.status_code == 422
    assert "url" in response.json["errors"]


def test_unknown_event_types_are_refused(api, workspace):
    response = api.post("/api/v1/webhooks", json={"url": PUBLIC, "event_types": ["order.paid"]})
    assert response.status_code == 422


def test_unknown_fields_are_refused(api, workspace):
    response = api.post("/api/v1/webhooks", json={"url": PUBLIC, "secret": "whsec_mine"})
    assert response.status_code == 422


def test_deleting_a_subscription(api, workspace):
    created = api.post("/api/v1/webhooks", json={"url": PUBLIC}).json
    assert api.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    assert api.get(f"/api/v1/webhooks/{created['id']}").status_code == 404
    assert api.get("/api/v1/webhooks").json["items"] == []


def test_webhooks_need_the_admin_scope(session, client, workspace):
    campaigns = ApiClient(client, workspace.key(session, "campaigns", "write", "read"))
    assert campaigns.post("/api/v1/webhooks", json={"url": PUBLIC}).status_code == 403
    assert campaigns.get("/api/v1/webhooks").status_code == 403


def test_another_workspaces_subscription_is_404(api, other_api, workspace):
    created = api.post("/api/v1/webhooks", json={"url": PUBLIC}).json
    assert other_api.delete(f"/api/v1/webhooks/{created['id']}").status_code == 404
