"""Health, readiness, metrics, the OpenAPI document, request ids and the access log."""

from __future__ import annotations

import json
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from advocacy.api import ops

ROUTE = "/api/v1/customers/<string:external_id>"


def test_healthz_is_ok_without_a_key(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_reports_the_database(client, app):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json["status"] == "ready"
    assert response.json["database"] in ("sqlite", "postgresql")


def test_readyz_is_problem_503_when_the_database_fails(client, monkeypatch):
    monkeypatch.setattr(ops, "text", lambda _sql: text("SELECT * FROM no_such_table"))

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.content_type == "application/problem+json"


# --- metrics -----------------------------------------------------------------


def _samples(client, name):
    response = client.get("/metrics")
    assert response.status_code == 200
    return [
        sample
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
        if sample.name == name
    ]


def _route_count(client, method, route, status):
    for sample in _samples(client, "advocacy_http_request_duration_seconds_count"):
        labels = sample.labels
        if (labels["method"], labels["url_rule"], labels["status"]) == (method, route, status):
            return sample.value
    return 0.0


def test_metrics_is_prometheus_text(client):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert "# TYPE advocacy_http_request_duration_seconds histogram" in response.get_data(
        as_text=True
    )


def test_metrics_count_requests_per_route_and_status(api, client):
    before_ok = _route_count(client, "GET", ROUTE, "200")
    before_missing = _route_count(client, "GET", ROUTE, "404")
    api.put("/api/v1/customers/ann", json={})

    api.get("/api/v1/customers/ann")
    api.get("/api/v1/customers/ann")
    api.get("/api/v1/customers/nobody")

    assert _route_count(client, "GET", ROUTE, "200") == before_ok + 2
    assert _route_count(client, "GET", ROUTE, "404") == before_missing + 1


def test_metrics_have_a_latency_histogram_per_route(api, client):
    api.get("/api/v1/customers")

    buckets = [
        s
        for s in _samples(client, "advocacy_http_request_duration_seconds_bucket")
        if s.labels["url_rule"] == "/api/v1/customers" and s.labels["method"] == "GET"
    ]
    assert {s.labels["le"] for s in buckets} >= {"0.005", "0.1", "1.0", "+Inf"}
    assert max(s.value for s in buckets if s.labels["le"] == "+Inf") >= 1


def test_metrics_do_not_count_their_own_scrapes(client):
    client.get("/metrics")

    routes = {
        s.labels["url_rule"]
        for s in _samples(client, "advocacy_http_request_duration_seconds_count")
    }
    assert "/metrics" not in routes


# --- OpenAPI and docs --------------------------------------------------------


def test_openapi_document_lists_every_endpoint(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    assert {
        "/api/v1/customers",
        "/api/v1/customers/{external_id}",
        "/api/v1/customers/{external_id}/export",
        "/api/v1/customers/{external_id}/connections",
        "/api/v1/customers/{external_id}/events",
        "/api/v1/events",
        "/api/v1/mentions",
        "/api/v1/connections",
        "/api/v1/imports",
    } <= set(spec["paths"])


def test_openapi_documents_bearer_auth_and_problem_errors(client):
    spec = client.get("/api/v1/openapi.json").json
    get_one = spec["paths"]["/api/v1/customers/{external_id}"]["get"]

    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert get_one["security"] == [{"bearerAuth": []}]
    for status in ("401", "403", "404"):
        content = get_one["responses"][status]["content"]
        assert content["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }


def test_openapi_gives_every_view_a_summary(client):
    spec = client.get("/api/v1/openapi.json").json

    missing = [
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters" and not operation.get("summary")
    ]
    assert missing == []


def test_swagger_ui_is_served(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert b"swagger" in response.data.lower()


# --- request ids and the access log ------------------------------------------


def test_request_id_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123.def:4_5"})

    assert response.headers["X-Request-ID"] == "abc-123.def:4_5"


def test_request_id_is_generated_when_absent(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]

    assert len(first) >= 16
    assert first != second


@pytest.mark.parametrize("unsafe", ["has space", "x" * 129, "semi;colon", "new\\nline"])
def test_unsafe_request_id_is_replaced(client, unsafe):
    response = client.get("/healthz", headers={"X-Request-ID": unsafe})

    assert response.headers["X-Request-ID"] != unsafe
    assert len(response.headers["X-Request-ID"]) >= 16


def test_request_id_is_on_error_responses(client):
    response = client.get("/no/such/page", headers={"X-Request-ID": "req-404"})

    assert response.headers["X-Request-ID"] == "req-404"
    assert response.json["request_id"] == "req-404"


def _reaches(logger, handler):
    while logger is not None:
        if handler in logger.handlers:
            return True
        logger = logger.parent if logger.propagate else None
    return False


@pytest.fixture
def access_records(caplog):
    # The "advocacy" logger does not propagate to the root logger that caplog listens on;
    # recent pytest versions attach caplog to it anyway, older ones need it done here.
    logger = logging.getLogger("advocacy.access")
    attach = not _reaches(logger, caplog.handler)
    if attach:
        logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="advocacy.access"):
            yield lambda: [r for r in caplog.records if r.name == "advocacy.access"]
    finally:
        if attach:
            logger.removeHandler(caplog.handler)


def test_one_access_log_line_per_request(api, workspace, access_records):
    api.get("/api/v1/customers/nobody", headers={"X-Request-ID": "req-42"})

    (record,) = access_records()
    assert record.request_id == "req-42"
    assert record.workspace_id == workspace.id
    assert record.route == ROUTE
    assert record.path == "/api/v1/customers/nobody"
    assert record.method == "GET"
    assert record.status == 404
    assert isinstance(record.duration_ms, float)
    assert record.duration_ms >= 0


def test_access_log_of_unauthenticated_request_has_no_workspace(client, access_records):
    client.get("/api/v1/customers")

    (record,) = access_records()
    assert record.status == 401
    assert record.workspace_id is None


def test_access_log_line_is_json(api, access_records):
    api.get("/api/v1/customers")

    (record,) = access_records()
    handler = next(
        h for h in logging.getLogger("advocacy").handlers if getattr(h, "_advocacy", False)
    )
    line = json.loads(handler.format(record))
    assert line["logger"] == "advocacy.access"
    assert {"request_id", "workspace_id", "route", "status", "duration_ms"} <= set(line)
    assert "\n" not in handler.format(record)
