"""Which content types an import accepts."""

from __future__ import annotations

import pytest

from advocacy.ingest.imports import UnsupportedMediaType, format_for


@pytest.mark.parametrize(
    ("content_type", "fmt"),
    [
        ("application/x-ndjson", "ndjson"),
        ("application/jsonl", "ndjson"),
        ("application/ndjson", "ndjson"),
        ("text/csv", "csv"),
        ("Text/CSV; charset=utf-8", "csv"),
        (" application/x-ndjson ;charset=utf-8", "ndjson"),
    ],
)
def test_supported_content_types(content_type, fmt):
    assert format_for(content_type) == fmt


@pytest.mark.parametrize("content_type", [None, "", "application/json", "text/plain", "text/csv2"])
def test_other_content_types_are_415(content_type):
    with pytest.raises(UnsupportedMediaType) as info:
        format_for(content_type)

    assert info.value.status == 415
