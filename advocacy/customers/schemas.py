"""Input shapes of what the CRM and the listening tool send, for the API and imports."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from advocacy.customers.models import EVENT_KINDS
from advocacy.fields import (
    MAX_INT63,
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

LOCALE = ma.validate.Regexp(
    r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*\Z", error="Use a language tag such as en or pt-BR."
)
VALUE_RANGES = {"nps": (0, 10), "review": (1, 5), "support_contact": (1, 5)}


class ConsentSchema(ma.Schema):
    email = ma.fields.Boolean(load_default=False, metadata={"description": "May be emailed"})
    sms = ma.fields.Boolean(load_default=False, metadata={"description": "May be texted"})
    social = ma.fields.Boolean(
        load_default=False, metadata={"description": "May be contacted on social/messaging apps"}
    )


class CustomerFieldsSchema(ma.Schema):
    """A customer as the CRM knows them. PUT replaces: absent fields become empty."""

    email = EmailAddress(allow_none=True, load_default=None)
    first_name = Text(max_length=100, allow_none=True, load_default=None)
    last_name = Text(max_length=100, allow_none=True, load_default=None)
    locale = Text(max_length=35, validate=[LOCALE], allow_none=True, load_default=None)
    followers = Count(
        maximum=MAX_INT63,
        allow_none=True,
        load_default=None,
        metadata={"description": "Audience size if the CRM knows it; shown, never trusted"},
    )
    consent = ma.fields.Nested(ConsentSchema, load_default=lambda: ConsentSchema().load({}))
    attributes = SmallJson(load_default=dict, metadata={"description": "Free JSON, up to 8 KiB"})


class CustomerItemSchema(CustomerFieldsSchema):
    external_id = ExternalId(required=True)


class EventFieldsSchema(ma.Schema):
    event_id = ExternalId(
        load_default=None, metadata={"description": "The CRM's id: re-posting it is idempotent"}
    )
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(EVENT_KINDS))
    label = Text(max_length=64, load_default=None, metadata={"description": "Required for other"})
    value = ma.fields.Integer(
        strict=True,
        load_default=None,
        metadata={"description": "NPS 0-10, review rating 1-5, support satisfaction 1-5"},
    )
    amount = Count(
        maximum=MAX_INT63, load_default=None, metadata={"description": "Minor units (purchase)"}
    )
    currency = Currency(load_default=None)
    occurred_at = Timestamp(required=True)

    @ma.validates_schema
    def _check_kind(self, data: dict[str, Any], **_: Any) -> None:
        kind = data.get("kind")
        errors: dict[str, list[str]] = {}
        value, amount = data.get("value"), data.get("amount")
        if kind == "purchase":
            if amount is None:
                errors["amount"] = ["A purchase needs an amount in minor units."]
            if data.get("currency") is None:
                errors["currency"] = ["A purchase needs a currency."]
        elif amount is not None or data.get("currency") is not None:
            errors["amount"] = ["Only a purchase has an amount and currency."]
        if kind in VALUE_RANGES:
            low, high = VALUE_RANGES[kind]
            if kind == "support_contact" and value is None:
                pass
            elif value is None or not low <= value <= high:
                errors["value"] = [f"Must be from {low} to {high} for {kind}."]
        elif kind == "other":
            if not data.get("label"):
                errors["label"] = ["An 'other' event needs a label."]
            if value is not None and not -(2**31) <= value < 2**31:
                errors["value"] = ["Out of range."]
        elif value is not None:
            errors["value"] = [f"{kind} events have no value."]
        if kind != "other" and data.get("label") is not None:
            errors["label"] = ["Only an 'other' event has a label."]
        if errors:
            raise ma.ValidationError(errors)


class EventItemSchema(EventFieldsSchema):
    customer = ExternalId(required=True, metadata={"description": "Customer external_id"})


class MentionItemSchema(ma.Schema):
    external_id = ExternalId(required=True, metadata={"description": "The listening tool's id"})
    channel = Slug(required=True)
    customer = ExternalId(load_default=None, metadata={"description": "Author, if a customer"})
    text = Text(max_length=10_000, load_default=None)
    language = Text(max_length=35, validate=[LOCALE], load_default=None)
    sentiment = Score(
        load_default=None, metadata={"description": "In [-1, 1]; scored from text when absent"}
    )
    reach = Count(maximum=MAX_INT63, load_default=None)
    occurred_at = Timestamp(required=True)

    @ma.validates_schema
    def _needs_signal(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("sentiment") is None and not (data.get("text") or "").strip():
            raise ma.ValidationError(
                "Give a sentiment, or a text to score.", field_name="sentiment"
            )


class ConnectionItemSchema(ma.Schema):
    source = ExternalId(required=True, metadata={"description": "Who interacts"})
    target = ExternalId(required=True, metadata={"description": "Whom they interact with"})
    channel = Slug(required=True)
    replies = Count(load_default=0)
    likes = Count(load_default=0)
    shares = Count(load_default=0)
    messages = Count(load_default=0)
    follows = ma.fields.Boolean(load_default=False)
    sentiment = Score(
        load_default=None, metadata={"description": "Tone: trust (+1) to distrust (-1)"}
    )
    last_interaction_at = Timestamp(load_default=None)

    @ma.validates_schema
    def _not_self(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("source") is not None and data.get("source") == data.get("target"):
            raise ma.ValidationError("A connection joins two different customers.", "target")
