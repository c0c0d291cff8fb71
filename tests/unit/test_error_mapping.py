"""Flattening marshmallow's nested messages into problem+json ``errors``."""

from __future__ import annotations

from advocacy.errors import DomainError, Forbidden, NotFound, Unauthorized, flatten_errors


def test_flat_messages_stay_flat():
    assert flatten_errors({"email": ["Bad."]}) == {"email": ["Bad."]}


def test_nested_messages_get_dotted_paths():
    messages = {"consent": {"email": ["Not a valid boolean."]}, "name": ["Too long."]}

    assert flatten_errors(messages) == {
        "consent.email": ["Not a valid boolean."],
        "name": ["Too long."],
    }


def test_list_indexes_become_path_parts():
    messages = {"items": {0: {"kind": ["Required."]}, 3: {"value": ["Too big."]}}}

    assert flatten_errors(messages) == {
        "items.0.kind": ["Required."],
        "items.3.value": ["Too big."],
    }


def test_schema_level_messages_are_under_schema():
    assert flatten_errors(["Invalid input type."]) == {"_schema": ["Invalid input type."]}


def test_a_bare_string_becomes_a_list():
    assert flatten_errors({"cursor": "Invalid."}) == {"cursor": ["Invalid."]}


def test_mixed_list_of_dicts_is_merged():
    messages = {"items": [{"a": ["x"]}, {"b": ["y"]}]}

    assert flatten_errors(messages) == {"items.a": ["x"], "items.b": ["y"]}


def test_domain_errors_carry_status_detail_and_errors():
    error = NotFound("No customer 'x'.", errors={"external_id": ["Unknown."]})

    assert (error.status, error.slug, error.detail) == (404, "not-found", "No customer 'x'.")
    assert error.errors == {"external_id": ["Unknown."]}


def test_domain_error_without_field_errors_has_none():
    assert DomainError("Bad.").errors is None


def test_auth_errors_map_to_401_with_challenge_and_403():
    assert Unauthorized("x").status == 401
    assert Unauthorized("x").headers["WWW-Authenticate"].startswith("Bearer")
    assert Forbidden("x").status == 403
