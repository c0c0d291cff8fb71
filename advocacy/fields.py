"""Marshmallow fields shared by every schema: they check shape, never business rules."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from email_validator import EmailNotValidError, validate_email

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Identifiers take no control character at all: not even the tab, CR and LF free text may
# hold (they would split a log line or a CSV row), nor the C1 controls.
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Lone UTF-16 surrogates arrive through JSON escapes ("\\ud800") but cannot be encoded as UTF-8.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_INT32 = 2**31 - 1
MAX_INT63 = 2**63 - 1


class Text(ma.fields.String):
    """A string without control characters (PostgreSQL refuses NUL) and with a length cap."""

    def __init__(self, *, max_length: int = 255, min_length: int = 0, **kwargs: Any) -> None:
        validators = list(kwargs.pop("validate", []) or [])
        validators.insert(0, ma.validate.Length(min=min_length, max=max_length))
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _CONTROL.search(text):
            raise ma.ValidationError("Must not contain control characters.")
        if _SURROGATE.search(text):
            raise ma.ValidationError("Must be valid Unicode: no lone surrogates.")
        return text


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control character (C0, DEL or C1), tab, CR and LF included."""
    return _ANY_CONTROL.search(text) is not None


class ExternalId(Text):
    """A CRM identifier: used in URLs, so no slashes; '~' starts our pseudonyms."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_length=1, max_length=128, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if has_control_characters(text):
            raise ma.ValidationError("Must not contain control characters (tab, CR, LF, ...).")
        if "/" in text or text.startswith("~") or text != text.strip():
            raise ma.ValidationError(
                "Must not contain '/', start with '~', or have surrounding spaces."
            )
        return text


class Slug(Text):
    """A short lowercase name such as a channel: 'x', 'instagram', 'email'."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            min_length=1,
            max_length=32,
            validate=[
                ma.validate.Regexp(r"^[a-z0-9][a-z0-9_\-]*\Z", error="Use a-z, 0-9, '_' or '-'.")
            ],
            **kwargs,
        )


class EmailAddress(ma.fields.String):
    """An email address, validated and normalised by email-validator."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault("format", "email")
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > 320:
            raise ma.ValidationError("Not a valid email address: too long.")
        try:
            return validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ma.ValidationError(f"Not a valid email address: {exc}") from exc


class Timestamp(ma.fields.AwareDateTime):
    """An ISO 8601 instant; a missing offset means UTC; kept between 1970 and 2100."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", default_timezone=UTC, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST <= moment < LATEST:
            raise ma.ValidationError("Must be between 1970 and 2100.")
        return moment.astimezone(UTC)


class Count(ma.fields.Integer):
    """A non-negative integer that fits the column it goes to."""

    def __init__(self, *, maximum: int = MAX_INT32, **kwargs: Any) -> None:
        super().__init__(strict=True, validate=ma.validate.Range(min=0, max=maximum), **kwargs)


class Score(ma.fields.Float):
    """A sentiment score in [-1, 1]."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, validate=ma.validate.Range(min=-1, max=1), **kwargs)


class Currency(ma.fields.String):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            validate=ma.validate.Regexp(r"^[A-Z]{3}\Z", error="Use an ISO 4217 code such as EUR."),
            **kwargs,
        )


class SmallJson(ma.fields.Dict):
    """A free-form JSON object whose serialised size is capped."""

    def __init__(self, *, max_bytes: int = 8192, **kwargs: Any) -> None:
        super().__init__(keys=ma.fields.String(), **kwargs)
        self.max_bytes = max_bytes

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
        result = super()._deserialize(value, attr, data, **kwargs)
        try:
            encoded = json.dumps(result, allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise ma.ValidationError("Must be plain JSON.") from exc
        try:
            size = len(encoded.encode())
        except UnicodeEncodeError as exc:
            raise ma.ValidationError("Must be valid Unicode: no lone surrogates.") from exc
        if size > self.max_bytes:
            raise ma.ValidationError(f"Must be at most {self.max_bytes} bytes as JSON.")
        if "\\u0000" in encoded:
            raise ma.ValidationError("Must not contain NUL characters.")
        return result


class BatchItems(ma.fields.List):
    """Documents as a list of ``schema`` but loads raw objects.

    Batches validate each item on its own, so that one bad item is reported
    by its index while the good ones are applied.
    """

    def __init__(self, schema: type[ma.Schema], *, max_items: int = 1000, **kwargs: Any) -> None:
        super().__init__(
            ma.fields.Nested(schema),
            required=True,
            validate=ma.validate.Length(min=1, max=max_items),
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[Any]:
        if not isinstance(value, list):
            raise ma.ValidationError("Not a valid list.")
        return list(value)
