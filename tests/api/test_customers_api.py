"""PUT/GET/DELETE one customer, the cursor-paginated list, and field validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import customer, put_customers

URL = "/api/v1/customers"


def test_put_creates_customer_with_every_field(api):
    body = {
        "email": "Ann.Lee@Example.COM",
        "first_name": "Ann",
        "last_name": "Lee",
        "locale": "pt-BR",
        "followers": 1200,
        "consent": {"email": True, "sms": False, "social": True},
        "attributes": {"tier": "gold", "tags": ["a", "b"]},
    }

    response = api.put(f"{URL}/crm-1", json=body)

    assert response.status_code == 200
    assert response.json["status"] == "created"
    stored = response.json["customer"]
    assert stored["external_id"] == "crm-1"
    assert stored["email"] == "Ann.Lee@example.com"
    assert stored["first_name"] == "Ann"
    assert stored["last_name"] == "Lee"
    assert stored["locale"] == "pt-BR"
    assert stored["followers"] == 1200
    assert stored["consent"] == {"email": True, "sms": False, "social": True}
    assert stored["attributes"] == {"tier": "gold", "tags": ["a", "b"]}


def test_put_same_body_again_is_unchanged(api):
    api.put(f"{URL}/crm-1", json=customer("crm-1"))

    response = api.put(f"{URL}/crm-1", json=customer("crm-1"))

    assert response.status_code == 200
    assert response.json["status"] == "unchanged"


def test_put_unchanged_keeps_updated_at(api):
    first = api.put(f"{URL}/crm-1", json=customer("crm-1")).json["customer"]

    again = api.put(f"{URL}/crm-1", json=customer("crm-1")).json["customer"]

    assert again["updated_at"] == first["updated_at"]


def test_put_changed_body_is_updated(api):
    api.put(f"{URL}/crm-1", json=customer("crm-1"))

    response = api.put(f"{URL}/crm-1", json=customer("crm-1", first_name="Annie"))

    assert response.json["status"] == "updated"
    assert response.json["customer"]["first_name"] == "Annie"


def test_put_replaces_absent_fields_with_empty(api):
    api.put(f"{URL}/crm-1", json=customer("crm-1", last_name="Lee", attributes={"a": 1}))

    response = api.put(f"{URL}/crm-1", json={"email": "crm-1@example.com"})

    stored = response.json["customer"]
    assert stored["first_name"] is None
    assert stored["last_name"] is None
    assert stored["attributes"] == {}


def test_get_returns_the_customer(api):
    api.put(f"{URL}/crm-1", json=customer("crm-1"))

    response = api.get(f"{URL}/crm-1")

    assert response.status_code == 200
    assert response.json["external_id"] == "crm-1"
    assert response.json["email"] == "crm-1@example.com"


def test_get_unknown_customer_is_404_problem(api):
    response = api.get(f"{URL}/nobody")

    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert response.json["status"] == 404


def test_delete_answers_204_then_get_is_404(api):
    put_customers(api, "crm-1")

    deleted = api.delete(f"{URL}/crm-1")

    assert deleted.status_code == 204
    assert deleted.data == b""
    assert api.get(f"{URL}/crm-1").status_code == 404


def test_delete_unknown_customer_is_404(api):
    assert api.delete(f"{URL}/nobody").status_code == 404


@pytest.mark.parametrize("external_id", ["~pseudonym", " padded", "a%00b"])
def test_put_with_invalid_path_id_names_external_id(api, external_id):
    response = api.put(f"{URL}/{external_id}", json={})

    assert response.status_code == 422
    assert "external_id" in response.json["errors"]


def test_put_with_overlong_path_id_is_422(api):
    response = api.put(f"{URL}/{'x' * 129}", json={})

    assert response.status_code == 422
    assert "external_id" in response.json["errors"]


def test_get_with_nul_in_path_id_is_404(api):
    assert api.get(f"{URL}/a%00b").status_code == 404


# --- validation: the field at fault is named in problem+json `errors` --------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"followers": "many"}, "followers"),
        ({"followers": -1}, "followers"),
        ({"followers": 2**63}, "followers"),
        ({"followers": 1.5}, "followers"),
        ({"followers": True}, "followers"),
        ({"first_name": "x" * 101}, "first_name"),
        ({"first_name": "bad\x00name"}, "first_name"),
        ({"first_name": "bad\ud800name"}, "first_name"),
        ({"first_name": 42}, "first_name"),
        ({"locale": "english please"}, "locale"),
        ({"locale": "en\n"}, "locale"),
        ({"locale": "en" + "-abcd" * 10}, "locale"),
        ({"consent": {"email": "perhaps"}}, "consent.email"),
        ({"consent": {"fax": True}}, "consent.fax"),
        ({"attributes": ["not", "an", "object"]}, "attributes"),
        ({"attributes": {"blob": "x" * 9000}}, "attributes"),
        ({"attributes": {"k": "\ud800"}}, "attributes"),
        ({"attributes": {"k": "nul\x00"}}, "attributes"),
        ({"nickname": "Annie"}, "nickname"),
        ({"external_id": "other"}, "external_id"),
        ({"created_at": "2024-01-01T00:00:00Z"}, "created_at"),
    ],
)
def test_put_invalid_field_is_named_in_errors(api, body, field):
    response = api.put(f"{URL}/crm-1", json=body)

    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert field in response.json["errors"], response.json
    assert all(isinstance(m, str) for m in response.json["errors"][field])


def test_invalid_put_creates_nothing(api):
    api.put(f"{URL}/crm-1", json={"email": "nope"})

    assert api.get(f"{URL}/crm-1").status_code == 404


def test_put_non_object_body_is_422(api):
    response = api.put(f"{URL}/crm-1", json=["a", "list"])

    assert response.status_code == 422
    assert response.json["errors"] == {"_schema": ["Invalid input type."]}


# --- listing ----------------------------------------------------------------


def _list(api, **params):
    response = api.get(URL, query_string=params)
    assert response.status_code == 200, response.json
    return response.json


def test_list_is_empty_for_a_new_workspace(api):
    assert _list(api) == {"items": [], "next_cursor": None}


def test_list_pages_with_cursor_until_exhausted(api):
    ids = [f"crm-{n:02d}" for n in range(7)]
    put_customers(api, *ids)

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3} if cursor is None else {"limit": 3, "cursor": cursor}
        page = _list(api, **params)
        seen += [item["external_id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert sorted(seen) == ids
    assert len(seen) == len(set(seen))
    assert pages == 3


def test_list_has_no_cursor_when_page_is_exactly_full(api):
    put_customers(api, "a", "b")

    assert _list(api, limit=2)["next_cursor"] is None


def test_list_orders_by_last_change(api):
    put_customers(api, "a", "b", "c")
    api.put(f"{URL}/a", json=customer("a", first_name="Changed"))

    assert [c["external_id"] for c in _list(api)["items"]] == ["b", "c", "a"]


def test_list_limit_100_is_accepted(api):
    assert api.get(URL, query_string={"limit": 100}).status_code == 200


@pytest.mark.parametrize("limit", [101, 0, -1, "ten"])
def test_list_limit_out_of_range_is_422(api, limit):
    response = api.get(URL, query_string={"limit": limit})

    assert response.status_code == 422
    assert "limit" in response.json["errors"]


def test_list_updated_since_filters_older_changes(api):
    put_customers(api, "old")
    since = datetime.now(UTC)
    put_customers(api, "new")

    page = _list(api, updated_since=since.isoformat())

    assert [c["external_id"] for c in page["items"]] == ["new"]


def test_list_updated_since_in_future_is_empty(api):
    put_customers(api, "a")
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()

    assert _list(api, updated_since=future)["items"] == []


def test_list_updated_since_invalid_is_422(api):
    response = api.get(URL, query_string={"updated_since": "yesterday"})

    assert response.status_code == 422
    assert "updated_since" in response.json["errors"]


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        "e30",  # {}
        "WzFd",  # [1]
        "WyIyMDIwLTAxLTAxIiwgMV0",  # ["2020-01-01", 1]: no time zone
        "WyIyMDIwLTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgSW5maW5pdHld",  # [.., Infinity]
        "WyIyMDIwLTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgOTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OV0",
        "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzA1OjAwIiwgMV0",  # year 1 at +05:00
    ],
)
def test_list_forged_cursor_is_422(api, cursor):
    response = api.get(URL, query_string={"cursor": cursor})

    assert response.status_code == 422
    assert response.json["errors"] == {"cursor": ["Invalid cursor."]}


def test_list_leaves_out_erased_customers(api):
    put_customers(api, "keep", "erase")
    api.delete(f"{URL}/erase")

    assert [c["external_id"] for c in _list(api)["items"]] == ["keep"]
