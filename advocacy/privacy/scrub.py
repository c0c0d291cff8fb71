"""Replacing one person's identifiers inside stored JSON documents (pure, no database)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def replace_strings(document: Any, replacements: Mapping[str, str | None]) -> Any:
    """``document`` with every string value or key equal to one of ``replacements`` replaced
    (values only: a key never becomes None). Other values are returned as they are."""
    if isinstance(document, str):
        return replacements.get(document, document)
    if isinstance(document, list):
        return [replace_strings(item, replacements) for item in document]
    if isinstance(document, dict):
        return {
            (replacements.get(key) or key if isinstance(key, str) else key): replace_strings(
                value, replacements
            )
            for key, value in document.items()
        }
    return document


def json_forms(value: str) -> list[str]:
    """The ways ``value`` can appear in stored JSON text: as the default serialiser wrote it
    (non-ASCII escaped) and verbatim; each quoted, so only whole strings match."""
    return sorted({json.dumps(value), json.dumps(value, ensure_ascii=False)})
