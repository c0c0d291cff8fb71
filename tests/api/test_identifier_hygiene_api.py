"""Identifiers never hold control characters: in a path they name nothing, in a body
they are refused with the field named."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.factories import put_customers

CONTROLS = ["%00", "%0A", "%0D", "%09", "%1B", "%7F", "%C2%85"]


def _routes_with_string_ids(app):
    """Every API rule with a string path argument, and a method to call it with."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        strings = [
            name
            for name, converter in rule._converters.items()
            if type(converter).__name__ in ("UnicodeConverter", "PathConverter")
        ]
        if not strings:
            continue
        for method in sorted(rule.methods & {"GET", "DELETE", "POST"}):
            yield rule, method


def _url(rule, value):
    def fill(match):
        name = match.group(1).split(":")[-1]
        return "1" if rule._converters[name].__class__.__name__ == "IntegerConverter" else value

    return re.sub(r"<([^>]+)>", fill, rule.rule)


@pytest.mark.parametrize("control", CONTROLS)
def test_control_characters_in_any_path_identifier_are_404(app, api, control):
    put_customers(api, "ann")
    answers = {}
    for rule, method in _routes_with_string_ids(app):
        url = _url(rule, f"a{control}b")
        response = api.client.open(url, method=method, headers=api._headers(None), json={})
        answers[(method, rule.rule)] = response.status_code

    assert answers, "no route with a string identifier found"
    assert {k: v for k, v in answers.items() if v != 404} == {}


def test_nul_in_an_advocate_id_is_404_not_500(api):
    put_customers(api, "ann")
    assert api.post("/api/v1/advocates/rank").status_code == 201

    response = api.get("/api/v1/advocates/a%00b")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("control", ["%0D", "%0A", "%09", "%00"])
def test_put_customer_with_control_character_in_path_is_422(api, control):
    response = api.put(f"/api/v1/customers/a{control}b", json={})

    assert response.status_code == 422
    assert "external_id" in response.json["errors"]


@pytest.mark.parametrize("control", ["\r", "\n", "\t"])
def test_batch_refuses_customer_ids_with_control_characters(api, control):
    put_customers(api, "ann")
    item = {"source": "ann", "target": f"b{control}ob", "channel": "x", "likes": 1}

    body = api.post("/api/v1/connections", json={"items": [item]}).json

    assert body["results"][0]["status"] == "rejected"
    assert "target" in body["results"][0]["errors"]


@pytest.mark.parametrize("control", ["\r", "\n", "\t"])
def test_conversion_refuses_invitee_ids_with_control_characters(api, control):
    body = {
        "event": "signup",
        "event_id": "s-1",
        "invitee": {"external_id": f"zo{control}e", "email": "zoe@example.net"},
        "occurred_at": "2024-05-01T12:00:00Z",
    }

    response = api.post(
        "/api/v1/conversions", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )

    assert response.status_code == 422, response.json
    assert "invitee.external_id" in response.json["errors"]


# --- response headers of answers carrying personal data ---------------------------------


@pytest.mark.parametrize(
    "method, url",
    [
        ("GET", "/api/v1/customers/ann"),
        ("GET", "/api/v1/customers/ann/export"),
        ("GET", "/api/v1/customers?limit=10"),
        ("GET", "/api/v1/customers/nobody"),
        ("PUT", "/api/v1/customers/bob"),
    ],
)
def test_api_answers_are_not_stored_nor_sniffed(api, method, url):
    put_customers(api, "ann")

    response = api.client.open(url, method=method, headers=api._headers(None), json={})

    assert response.status_code < 500
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_unauthenticated_api_answers_are_not_stored_either(client):
    response = client.get("/api/v1/customers/ann")

    assert response.status_code == 401
    assert response.headers["Cache-Control"] == "no-store"
