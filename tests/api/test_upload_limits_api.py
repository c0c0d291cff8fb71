"""Imports and batches are limited per API key (IMPORT_RATE_LIMIT, BATCH_RATE_LIMIT)."""

from __future__ import annotations

import pytest

from tests.factories import ApiClient

T = "2024-05-01T12:00:00Z"


def _import(api):
    return api.post(
        "/api/v1/imports?kind=customers", data=b"external_id\nc-1\n", content_type="text/csv"
    )


def _batch(api, path="/api/v1/events"):
    return api.post(
        path, json={"items": [{"customer": "nobody", "kind": "login", "occurred_at": T}]}
    )


@pytest.fixture
def tight(app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_RATE_LIMIT", "2 per minute")
    monkeypatch.setitem(app.config, "BATCH_RATE_LIMIT", "3 per minute")


def test_imports_past_the_limit_are_429_with_retry_after(api, tight):
    statuses = [_import(api).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    response = _import(api)
    assert response.content_type == "application/problem+json"
    assert "IMPORT_RATE_LIMIT" in response.json["detail"]
    assert response.headers["Retry-After"] == "60"


def test_batches_share_one_budget_per_key(api, tight):
    statuses = [
        _batch(api, path).status_code
        for path in ("/api/v1/events", "/api/v1/mentions", "/api/v1/connections", "/api/v1/events")
    ]

    assert statuses == [200, 200, 200, 429]


def test_another_key_has_its_own_budget(api, client, session, workspace, tight):
    for _ in range(2):
        _import(api)
    other = ApiClient(client, workspace.key(session, "write", "read"))

    assert _import(api).status_code == 429
    assert _import(other).status_code == 200


def test_bad_keys_are_401_not_counted(client, api, tight):
    stranger = ApiClient(client, "adv_" + "x" * 43)

    assert [_import(stranger).status_code for _ in range(3)] == [401, 401, 401]
    assert _import(api).status_code == 200
