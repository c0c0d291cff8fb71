"""The shared marshmallow fields: shape checks only, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import marshmallow as ma
import pytest

from advocacy.fields import (
    BatchItems,
    Count,
    Currency,
    EmailAddress,
    ExternalId,
    Score,
    Slug,
    SmallJson,
    Text,
    Timestamp,
)


def _load(field, value):
    return field.deserialize(value)


def _rejects(field, value):
    with pytest.raises(ma.ValidationError) as info:
        field.deserialize(value)
    return info.value.messages


# --- Text ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["plain", "tab\tand\nnewline\r", "ünïcödé ✓ 😀", ""])
def test_text_accepts_printable_text_and_whitespace(value):
    assert _load(Text(), value) == value


@pytest.mark.parametrize("value", ["nul\x00", "bell\x07", "esc\x1b", "del\x7f", "vt\x0b"])
def test_text_rejects_control_characters(value):
    assert _rejects(Text(), value) == ["Must not contain control characters."]


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb"])
def test_text_rejects_lone_surrogates(value):
    assert _rejects(Text(), value) == ["Must be valid Unicode: no lone surrogates."]


def test_text_enforces_max_length():
    assert _load(Text(max_length=3), "abc") == "abc"
    assert _rejects(Text(max_length=3), "abcd")


def test_text_keeps_extra_validators():
    field = Text(validate=[ma.validate.OneOf(["a"])])

    assert _rejects(field, "b")


@pytest.mark.parametrize("value", [1, 1.5, True, None, ["a"], {"a": 1}])
def test_text_rejects_non_strings(value):
    field = Text(allow_none=False)

    assert _rejects(field, value)


# --- ExternalId -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["crm-1", "A_b.c:d@e", "x" * 128, "名前", "a~b"])
def test_external_id_accepts_crm_ids(value):
    assert _load(ExternalId(), value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x" * 129,
        "a/b",
        "~pseudonym",
        " pad",
        "pad ",
        "a\x00b",
        "a\rb",
        "a\nb",
        "a\tb",
        "a\x85b",
    ],
)
def test_external_id_rejects_unusable_ids(value):
    assert _rejects(ExternalId(), value)


# --- Slug, Currency ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["x", "instagram", "tik-tok", "my_channel", "web3"])
def test_slug_accepts_lowercase_names(value):
    assert _load(Slug(), value) == value


@pytest.mark.parametrize("value", ["", "X", "-x", "a b", "x\n", "x" * 33, "é"])
def test_slug_rejects_other_names(value):
    assert _rejects(Slug(), value)


def test_currency_accepts_iso_code():
    assert _load(Currency(), "EUR") == "EUR"


@pytest.mark.parametrize("value", ["eur", "EURO", "EU", "EUR\n", "E1R"])
def test_currency_rejects_other_codes(value):
    assert _rejects(Currency(), value) == ["Use an ISO 4217 code such as EUR."]


# --- EmailAddress ---------------------------------------------------------------


def test_email_is_normalised_domain_lowercased():
    assert _load(EmailAddress(), "Ann.Lee@Example.COM") == "Ann.Lee@example.com"


@pytest.mark.parametrize(
    "value", ["plain", "a@b", "a@@example.com", "a b@example.com", "a" * 310 + "@example.com"]
)
def test_email_rejects_invalid_addresses(value):
    (message,) = _rejects(EmailAddress(), value)
    assert message.startswith("Not a valid email address")


def test_email_is_documented_as_email_format():
    assert EmailAddress().metadata["format"] == "email"


# --- Timestamp ------------------------------------------------------------------


def test_timestamp_without_offset_is_utc():
    assert _load(Timestamp(), "2024-05-01T12:00:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_timestamp_with_offset_is_converted_to_utc():
    moment = _load(Timestamp(), "2024-05-01T14:30:00+02:30")

    assert moment == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert moment.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        "1969-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+05:00",
        "yesterday",
        "2024-13-01T00:00:00Z",
        1714564800,
    ],
)
def test_timestamp_rejects_out_of_range_or_malformed(value):
    assert _rejects(Timestamp(), value)


def test_timestamp_accepts_the_range_bounds():
    assert _load(Timestamp(), "1970-01-01T00:00:00Z") == datetime(1970, 1, 1, tzinfo=UTC)
    assert _load(Timestamp(), "2099-12-31T23:59:59Z").year == 2099


# --- Count, Score -----------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 2**31 - 1])
def test_count_accepts_non_negative_int32(value):
    assert _load(Count(), value) == value


@pytest.mark.parametrize("value", [-1, 2**31, 1.5, "3", True, None, 10**400])
def test_count_rejects_others(value):
    assert _rejects(Count(allow_none=False), value)


def test_count_maximum_is_configurable():
    assert _load(Count(maximum=2**63 - 1), 2**63 - 1) == 2**63 - 1
    assert _rejects(Count(maximum=2**63 - 1), 2**63)


@pytest.mark.parametrize("value", [-1, -0.5, 0, 0.25, 1])
def test_score_accepts_minus_one_to_one(value):
    assert _load(Score(), value) == value


@pytest.mark.parametrize(
    "value", [-1.0001, 1.0001, float("nan"), float("inf"), 10**400, "0.5x", True]
)
def test_score_rejects_others(value):
    assert _rejects(Score(), value)


# --- SmallJson --------------------------------------------------------------------


def test_small_json_accepts_nested_plain_json():
    value = {"a": [1, 2.5, None, True], "b": {"c": "d"}}

    assert _load(SmallJson(), value) == value


def test_small_json_counts_bytes_not_characters():
    field = SmallJson(max_bytes=20)

    assert _load(field, {"k": "ééé"}) == {"k": "ééé"}
    assert _rejects(field, {"k": "éééééééééé"}) == ["Must be at most 20 bytes as JSON."]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"k": float("nan")}, "Must be plain JSON."),
        ({"k": {1, 2}}, "Must be plain JSON."),
        ({"k": "nul\x00"}, "Must not contain NUL characters."),
        ({"k": "\ud800"}, "Must be valid Unicode: no lone surrogates."),
        ({"\udc00": 1}, "Must be valid Unicode: no lone surrogates."),
    ],
)
def test_small_json_rejects_what_cannot_be_stored(value, message):
    assert _rejects(SmallJson(), value) == [message]


@pytest.mark.parametrize("value", [[1, 2], "text", 3])
def test_small_json_rejects_non_objects(value):
    assert _rejects(SmallJson(), value)


# --- BatchItems -------------------------------------------------------------------


class _Item(ma.Schema):
    name = ma.fields.String(required=True)


def test_batch_items_loads_raw_items_unvalidated():
    items = [{"name": "a"}, {"bad": 1}, "junk"]

    assert _load(BatchItems(_Item), items) == items


def test_batch_items_caps_the_count():
    field = BatchItems(_Item, max_items=2)

    assert _rejects(field, [{}, {}, {}])


def test_batch_items_needs_at_least_one():
    assert _rejects(BatchItems(_Item), [])


@pytest.mark.parametrize("value", [{"name": "a"}, "items", 3])
def test_batch_items_needs_a_list(value):
    assert _rejects(BatchItems(_Item), value) == ["Not a valid list."]
