"""Every 4xx/5xx is application/problem+json, including Flask's own 404/405/413."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.exc import IntegrityError

from tests.factories import assert_problem

T = "2024-05-01T00:00:00Z"


def test_unknown_url_is_problem_404(client):
    assert_problem(client.get("/no/such/page"), 404)


def test_unknown_api_url_is_problem_404(api):
    assert_problem(api.get("/api/v1/nothing-here"), 404)


def test_wrong_method_is_problem_405_with_allow(api):
    response = api.patch("/api/v1/customers/ann", json={})

    assert_problem(response, 405)
    assert {"GET", "PUT", "DELETE"} <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_wrong_method_on_batch_route_is_405(api):
    assert_problem(api.get("/api/v1/events"), 405)


def test_body_over_max_content_length_is_problem_413(api, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = b'{"first_name": "' + b"x" * limit + b'"}'

    response = api.put("/api/v1/customers/ann", data=body, content_type="application/json")

    assert_problem(response, 413)
    assert api.get("/api/v1/customers/ann").status_code == 404


def test_body_at_max_content_length_is_not_413(api, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    item = json.dumps({"external_id": "m", "channel": "x", "sentiment": 0, "occurred_at": T})
    prefix = '{"items": [' + item + '], "pad": "'
    body = prefix + "x" * (limit - len(prefix) - 2) + '"}'
    assert len(body) == limit

    response = api.post("/api/v1/mentions", data=body, content_type="application/json")

    assert response.status_code == 422  # read in full, then "pad" is an unknown field
    assert "pad" in response.json["errors"]


def test_invalid_json_is_problem_400(api):
    response = api.put("/api/v1/customers/ann", data="{not json", content_type="application/json")

    assert_problem(response, 400)


def test_too_deeply_nested_json_is_problem_400(api):
    body = "[" * 100_000 + "]" * 100_000

    response = api.put("/api/v1/customers/ann", data=body, content_type="application/json")

    assert_problem(response, 400)


def test_json_integer_with_too_many_digits_is_problem_400(api):
    body = '{"followers": ' + "9" * 5000 + "}"

    response = api.put("/api/v1/customers/ann", data=body, content_type="application/json")

    assert_problem(response, 400)


@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null", "true"])
def test_non_object_json_is_problem_422(api, body):
    response = api.post("/api/v1/events", data=body, content_type="application/json")

    assert_problem(response, 422)
    assert response.json["errors"] == {"_schema": ["Invalid input type."]}


def test_validation_problem_names_fields_in_errors(api):
    response = api.put("/api/v1/customers/ann", json={"email": "nope", "followers": "many"})

    assert_problem(response, 422)
    assert set(response.json["errors"]) == {"email", "followers"}
    assert response.json["type"] == "https://advocacy.dev/problems/unprocessable-entity"


def test_problem_carries_instance_and_request_id(api):
    response = api.get("/api/v1/customers/nobody", headers={"X-Request-ID": "req-123"})

    assert response.json["instance"] == "/api/v1/customers/nobody"
    assert response.json["request_id"] == "req-123"


def test_unexpected_error_is_problem_500_without_internals(app, client, monkeypatch):
    def explode():
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setitem(app.view_functions, "ops.healthz", explode)

    response = client.get("/healthz")

    assert_problem(response, 500)
    assert b"hunter2" not in response.data
    assert b"RuntimeError" not in response.data


def test_integrity_error_is_problem_409_without_database_message(app, client, monkeypatch):
    def conflict():
        raise IntegrityError(
            "INSERT INTO customers ...", {}, Exception("duplicate key customers_pkey")
        )

    monkeypatch.setitem(app.view_functions, "ops.healthz", conflict)

    response = client.get("/healthz")

    assert_problem(response, 409)
    assert b"customers" not in response.data
