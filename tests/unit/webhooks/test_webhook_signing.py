"""Standard Webhooks signatures, checked against the standardwebhooks package."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from advocacy.webhooks import signing

BODY = b'{"data":{"reward_id":1},"timestamp":"2026-01-01T00:00:00+00:00","type":"reward.approved"}'


def test_secrets_are_whsec_and_32_random_bytes():
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    assert signing.new_secret() != secret


def test_message_ids_are_unique():
    assert signing.new_message_id() != signing.new_message_id()


def test_the_reference_library_verifies_our_signature():
    secret, now = signing.new_secret(), int(time.time())
    headers = signing.signed_headers(secret, "msg_1", now, BODY)
    assert Webhook(secret).verify(BODY, headers)["type"] == "reward.approved"


def test_our_signature_is_the_reference_librarys():
    secret = signing.new_secret()
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    expected = Webhook(secret).sign("msg_1", moment, BODY.decode())
    assert signing.sign(secret, "msg_1", int(moment.timestamp()), BODY) == expected


def test_a_changed_byte_fails_verification():
    secret, now = signing.new_secret(), int(time.time())
    headers = signing.signed_headers(secret, "msg_1", now, BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"1", b"2", 1), headers)


def test_another_secret_fails_verification():
    headers = signing.signed_headers(signing.new_secret(), "msg_1", int(time.time()), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(BODY, headers)


def test_our_own_verify_agrees():
    secret, now = signing.new_secret(), int(time.time())
    headers = signing.signed_headers(secret, "msg_1", now, BODY)
    assert signing.verify(secret, headers, BODY, now=now)
    assert not signing.verify(secret, headers, BODY + b" ", now=now)
    assert not signing.verify(secret, headers, BODY, now=now + 301)


def test_a_secret_without_the_prefix_is_refused():
    with pytest.raises(ValueError):
        signing.secret_key("abc")
