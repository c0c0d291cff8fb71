"""Mentions from the listening tool: batch upsert by external_id, VADER when no score."""

from __future__ import annotations

import pytest

from tests.factories import put_customers

T = "2024-05-01T12:00:00Z"


def _mention(external_id="m-1", **fields):
    return {"external_id": external_id, "channel": "x", "occurred_at": T, **fields}


def _batch(api, *items):
    response = api.post("/api/v1/mentions", json={"items": list(items)})
    assert response.status_code == 200, response.json
    return response.json


def _mentions_of(api, external_id):
    response = api.get(f"/api/v1/customers/{external_id}/export")
    assert response.status_code == 200
    return response.json["mentions"]


def test_mention_with_sentiment_is_created(api):
    put_customers(api, "ann")

    body = _batch(api, _mention(customer="ann", text="meh", sentiment=-0.25, reach=300))

    assert body["results"] == [{"index": 0, "key": "m-1", "status": "created", "errors": None}]
    (stored,) = _mentions_of(api, "ann")
    assert stored["sentiment"] == -0.25
    assert stored["sentiment_source"] == "provided"
    assert stored["reach"] == 300
    assert stored["text"] == "meh"


def test_mention_text_without_sentiment_is_scored_by_vader(api):
    put_customers(api, "ann")

    _batch(api, _mention(customer="ann", text="I absolutely love this brand, great service!"))

    (stored,) = _mentions_of(api, "ann")
    assert stored["sentiment_source"] == "vader"
    assert stored["sentiment"] > 0


def test_negative_text_without_sentiment_scores_below_zero(api):
    put_customers(api, "ann")

    _batch(api, _mention(customer="ann", text="Terrible, awful support. I hate it."))

    assert _mentions_of(api, "ann")[0]["sentiment"] < 0


def test_mention_without_customer_is_accepted(api):
    body = _batch(api, _mention(sentiment=0.1))

    assert body["summary"]["created"] == 1


def test_repost_of_mention_is_unchanged(api):
    _batch(api, _mention(text="so good", language="en"))

    body = _batch(api, _mention(text="so good", language="en"))

    assert body["summary"] == {"created": 0, "updated": 0, "unchanged": 1, "rejected": 0}


def test_repost_of_mention_with_new_sentiment_is_updated(api):
    put_customers(api, "ann")
    _batch(api, _mention(customer="ann", sentiment=0.5))

    body = _batch(api, _mention(customer="ann", sentiment=-0.5))

    assert body["results"][0]["status"] == "updated"
    assert [m["sentiment"] for m in _mentions_of(api, "ann")] == [-0.5]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"sentiment": 2}, "sentiment"),
        ({"sentiment": -1.01}, "sentiment"),
        ({"sentiment": "positive"}, "sentiment"),
        ({}, "sentiment"),
        ({"text": "   "}, "sentiment"),
        ({"text": None, "sentiment": None}, "sentiment"),
        ({"text": "hi\ud800"}, "text"),
        ({"text": "x" * 10_001}, "text"),
        ({"sentiment": 0, "channel": "X"}, "channel"),
        ({"sentiment": 0, "channel": "x\n"}, "channel"),
        ({"sentiment": 0, "channel": "x" * 33}, "channel"),
        ({"sentiment": 0, "reach": -1}, "reach"),
        ({"sentiment": 0, "reach": "lots"}, "reach"),
        ({"sentiment": 0, "language": "en" + "-abcd" * 10}, "language"),
        ({"sentiment": 0, "occurred_at": None}, "occurred_at"),
        ({"sentiment": 0, "likes": 3}, "likes"),
    ],
)
def test_invalid_mention_is_rejected_naming_the_field(api, fields, field):
    body = _batch(api, {**_mention(), **fields})

    (result,) = body["results"]
    assert result["status"] == "rejected"
    assert field in result["errors"], result


def test_mention_of_unknown_customer_is_rejected(api):
    body = _batch(api, _mention(customer="nobody", sentiment=0))

    assert body["results"][0]["errors"] == {"customer": ["Unknown customer."]}


def test_mention_batch_with_bad_items_applies_the_good_ones(api):
    body = _batch(api, _mention("good", sentiment=0.3), _mention("bad", sentiment=3))

    assert [r["status"] for r in body["results"]] == ["created", "rejected"]
    assert body["summary"]["created"] == 1


def test_mention_batch_over_1000_items_is_422(api):
    items = [_mention(f"m-{n}", sentiment=0) for n in range(1001)]

    response = api.post("/api/v1/mentions", json={"items": items})

    assert response.status_code == 422
    assert "items" in response.json["errors"]
