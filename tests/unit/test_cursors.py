"""Opaque keyset cursors: what we issue decodes back; what clients forge is a 422."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from advocacy.errors import Unprocessable
from advocacy.pagination import (
    InvalidCursor,
    decode_cursor,
    decode_id,
    decode_offset,
    decode_time_id,
    encode_cursor,
)


def _forge(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_cursor_round_trips_a_timestamp_and_an_id():
    moment = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)

    assert decode_cursor(encode_cursor(moment, 42), 2) == [moment.isoformat(), 42]


def test_cursor_is_url_safe_without_padding():
    cursor = encode_cursor("?" * 10, 10**12)

    assert "=" not in cursor
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        _forge("not json"),
        _forge('{"a": 1}'),
        _forge("[1, 2, 3]"),
        _forge("[" * 5000),
        "\udc80",
    ],
)
def test_malformed_cursor_is_unprocessable(cursor):
    with pytest.raises(Unprocessable) as info:
        decode_cursor(cursor, 2)

    assert info.value.errors == {"cursor": ["Invalid cursor."]}


def test_a_time_cursor_decodes_to_utc():
    cursor = encode_cursor("2024-05-01T14:00:00+02:00", 7)

    assert decode_time_id(cursor) == (datetime(2024, 5, 1, 12, 0, tzinfo=UTC), 7)


@pytest.mark.parametrize(
    "parts",
    [
        ["2024-05-01T12:00:00", 7],  # no zone
        ["yesterday", 7],
        [None, 7],
        ["2024-05-01T12:00:00+00:00", -1],
        ["2024-05-01T12:00:00+00:00", 2**63],
        ["2024-05-01T12:00:00+00:00", True],
        ["2024-05-01T12:00:00+00:00", "7"],
    ],
)
def test_forged_time_cursors_are_unprocessable(parts):
    with pytest.raises(InvalidCursor):
        decode_time_id(encode_cursor(*parts))


@pytest.mark.parametrize("value", [-1, 2**63, 1.5, True, None, "1"])
def test_forged_id_cursors_are_unprocessable(value):
    with pytest.raises(InvalidCursor):
        decode_id(encode_cursor(value))


def test_the_largest_bigint_is_a_valid_id_cursor():
    assert decode_id(encode_cursor(2**63 - 1)) == 2**63 - 1


def test_an_offset_cursor_starts_at_zero_and_refuses_negatives():
    assert decode_offset(None) == 0
    assert decode_offset(encode_cursor(40)) == 40
    with pytest.raises(InvalidCursor):
        decode_offset(encode_cursor(-1))
