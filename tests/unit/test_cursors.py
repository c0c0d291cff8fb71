"""Opaque keyset cursors: what we issue decodes back; what clients forge is a 422."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from advocacy.customers.service import decode_cursor, encode_cursor
from advocacy.errors import Unprocessable


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
