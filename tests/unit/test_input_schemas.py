"""Input schemas of customers, events, mentions and connections: shapes and per-kind rules."""

from __future__ import annotations

from datetime import UTC, datetime

import marshmallow as ma
import pytest

from advocacy.customers.schemas import (
    ConnectionItemSchema,
    CustomerFieldsSchema,
    CustomerItemSchema,
    EventFieldsSchema,
    EventItemSchema,
    MentionItemSchema,
)

T = "2024-05-01T12:00:00Z"


def _errors(schema, data):
    with pytest.raises(ma.ValidationError) as info:
        schema().load(data)
    return info.value.messages


# --- customers -------------------------------------------------------------------


def test_customer_fields_default_to_empty():
    assert CustomerFieldsSchema().load({}) == {
        "email": None,
        "first_name": None,
        "last_name": None,
        "locale": None,
        "followers": None,
        "consent": {"email": False, "sms": False, "social": False},
        "attributes": {},
    }


def test_customer_consent_defaults_missing_flags_to_false():
    assert CustomerFieldsSchema().load({"consent": {"sms": True}})["consent"] == {
        "email": False,
        "sms": True,
        "social": False,
    }


def test_customer_item_needs_external_id():
    assert "external_id" in _errors(CustomerItemSchema, {"email": "a@example.com"})


@pytest.mark.parametrize("locale", ["en", "pt-BR", "zh_Hant_TW", "fil"])
def test_customer_accepts_language_tags(locale):
    assert CustomerFieldsSchema().load({"locale": locale})["locale"] == locale


@pytest.mark.parametrize("locale", ["e", "english", "en-", "en\n", "en-" + "a" * 33, "12"])
def test_customer_rejects_other_locales(locale):
    assert "locale" in _errors(CustomerFieldsSchema, {"locale": locale})


def test_customer_rejects_server_owned_fields():
    errors = _errors(CustomerFieldsSchema, {"id": 1, "workspace_id": 2, "erased_at": T})

    assert set(errors) == {"id", "workspace_id", "erased_at"}


# --- events -------------------------------------------------------------------------


def _event(**fields):
    return {"kind": "login", "occurred_at": T, **fields}


def test_event_loads_with_defaults():
    assert EventFieldsSchema().load(_event()) == {
        "event_id": None,
        "kind": "login",
        "label": None,
        "value": None,
        "amount": None,
        "currency": None,
        "occurred_at": datetime(2024, 5, 1, 12, tzinfo=UTC),
    }


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"kind": "nps", "value": 11}, {"value": ["Must be from 0 to 10 for nps."]}),
        ({"kind": "nps"}, {"value": ["Must be from 0 to 10 for nps."]}),
        ({"kind": "review", "value": 0}, {"value": ["Must be from 1 to 5 for review."]}),
        (
            {"kind": "support_contact", "value": 9},
            {"value": ["Must be from 1 to 5 for support_contact."]},
        ),
        (
            {"kind": "purchase"},
            {
                "amount": ["A purchase needs an amount in minor units."],
                "currency": ["A purchase needs a currency."],
            },
        ),
        (
            {"kind": "login", "amount": 5},
            {"amount": ["Only a purchase has an amount and currency."]},
        ),
        ({"kind": "email_click", "value": 1}, {"value": ["email_click events have no value."]}),
        ({"kind": "other"}, {"label": ["An 'other' event needs a label."]}),
        ({"kind": "login", "label": "x"}, {"label": ["Only an 'other' event has a label."]}),
        ({"kind": "other", "label": "x", "value": -(2**31) - 1}, {"value": ["Out of range."]}),
    ],
)
def test_event_rules_per_kind(fields, errors):
    assert _errors(EventFieldsSchema, _event(**fields)) == errors


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "purchase", "amount": 0, "currency": "JPY"},
        {"kind": "purchase", "amount": 2**63 - 1, "currency": "EUR"},
        {"kind": "support_contact"},
        {"kind": "other", "label": "webinar"},
        {"kind": "other", "label": "webinar", "value": 2**31 - 1},
        {"kind": "nps", "value": 0, "event_id": "e-1"},
    ],
)
def test_event_rules_accept_valid_events(fields):
    assert EventFieldsSchema().load(_event(**fields))["kind"] == fields["kind"]


def test_event_cross_field_rules_wait_for_valid_fields():
    # A bad kind is reported alone, not followed by rules that assume a kind.
    assert _errors(EventFieldsSchema, _event(kind="refund", value=3)) == {
        "kind": [
            "Must be one of: purchase, review, support_contact, nps, login, email_click, other."
        ]
    }


def test_event_item_needs_customer():
    assert "customer" in _errors(EventItemSchema, _event())


# --- mentions -----------------------------------------------------------------------


def _mention(**fields):
    return {"external_id": "m-1", "channel": "x", "occurred_at": T, **fields}


def test_mention_needs_sentiment_or_text():
    assert _errors(MentionItemSchema, _mention()) == {
        "sentiment": ["Give a sentiment, or a text to score."]
    }


def test_mention_blank_text_does_not_count_as_text():
    assert "sentiment" in _errors(MentionItemSchema, _mention(text=" \n\t "))


def test_mention_with_text_only_is_valid():
    assert MentionItemSchema().load(_mention(text="hello"))["sentiment"] is None


def test_mention_with_sentiment_only_is_valid():
    assert MentionItemSchema().load(_mention(sentiment=-1))["text"] is None


# --- connections --------------------------------------------------------------------


def test_connection_defaults():
    loaded = ConnectionItemSchema().load({"source": "a", "target": "b", "channel": "x"})

    assert loaded == {
        "source": "a",
        "target": "b",
        "channel": "x",
        "replies": 0,
        "likes": 0,
        "shares": 0,
        "messages": 0,
        "follows": False,
        "sentiment": None,
        "last_interaction_at": None,
    }


def test_connection_to_self_is_rejected_on_target():
    errors = _errors(ConnectionItemSchema, {"source": "a", "target": "a", "channel": "x"})

    assert errors == {"target": ["A connection joins two different customers."]}
