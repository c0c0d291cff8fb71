"""Referral tokens and attribution references: signed, dated, rotatable, free of personal data."""

from __future__ import annotations

import time

import pytest
from itsdangerous import TimestampSigner

from advocacy.links import tokens

OLD_KEY = "old-signing-key-0123456789abcdef"
NEW_KEY = "new-signing-key-0123456789abcdef"
MAX_AGE = 400 * 86400


def _sign_at(monkeypatch, when: int, link_id: int, keys: list[str]) -> str:
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: when)
    try:
        return tokens.sign_link(link_id, keys)
    finally:
        monkeypatch.undo()


def test_token_names_its_link():
    token = tokens.sign_link(42, [OLD_KEY])

    assert tokens.read_link(token, [OLD_KEY], MAX_AGE) == 42


def test_token_carries_only_the_link_id():
    payload, timestamp, signature = tokens.sign_link(42, [OLD_KEY]).split(".")

    assert payload == "42"
    assert len(signature) == 27  # HMAC-SHA1, base64url


@pytest.mark.parametrize("link_id", [1, 123, 10**9, 2**63 - 1])
def test_link_path_is_shorter_than_64_characters(link_id):
    assert len(f"/r/{tokens.sign_link(link_id, [OLD_KEY])}") < 64


def test_tampered_token_is_invalid():
    token = tokens.sign_link(42, [OLD_KEY])
    position = len(token) - 5
    changed = token[:position] + ("a" if token[position] != "a" else "b") + token[position + 1 :]

    with pytest.raises(tokens.InvalidToken):
        tokens.read_link(changed, [OLD_KEY], MAX_AGE)


def test_changed_link_id_is_invalid():
    token = tokens.sign_link(42, [OLD_KEY])

    with pytest.raises(tokens.InvalidToken):
        tokens.read_link("43" + token[2:], [OLD_KEY], MAX_AGE)


def test_token_signed_with_another_salt_is_invalid():
    forged = TimestampSigner([OLD_KEY], salt="itsdangerous.Signer").sign("42").decode()

    with pytest.raises(tokens.InvalidToken):
        tokens.read_link(forged, [OLD_KEY], MAX_AGE)


def test_attribution_reference_is_not_a_link_token():
    ref = tokens.sign_attribution(1, 42, 7, [OLD_KEY])

    with pytest.raises(tokens.InvalidToken):
        tokens.read_link(ref, [OLD_KEY], MAX_AGE)


def test_expired_token_is_refused_with_its_link(monkeypatch):
    token = _sign_at(monkeypatch, int(time.time()) - MAX_AGE - 60, 42, [OLD_KEY])

    with pytest.raises(tokens.ExpiredToken) as caught:
        tokens.read_link(token, [OLD_KEY], MAX_AGE)

    assert caught.value.link_id == 42


def test_token_just_inside_the_maximum_age_is_valid(monkeypatch):
    token = _sign_at(monkeypatch, int(time.time()) - MAX_AGE + 60, 42, [OLD_KEY])

    assert tokens.read_link(token, [OLD_KEY], MAX_AGE) == 42


def test_token_still_valid_after_a_new_key_is_appended():
    token = tokens.sign_link(42, [OLD_KEY])

    assert tokens.read_link(token, [OLD_KEY, NEW_KEY], MAX_AGE) == 42


def test_new_tokens_are_signed_with_the_newest_key():
    token = tokens.sign_link(42, [OLD_KEY, NEW_KEY])

    assert tokens.read_link(token, [NEW_KEY], MAX_AGE) == 42


def test_token_signed_with_a_removed_key_is_invalid():
    token = tokens.sign_link(42, [OLD_KEY])

    with pytest.raises(tokens.InvalidToken):
        tokens.read_link(token, [NEW_KEY], MAX_AGE)


def test_a_token_accepted_before_a_key_was_removed_is_refused_after():
    token = tokens.sign_link(42, [OLD_KEY])
    assert tokens.read_link(token, [OLD_KEY, NEW_KEY], MAX_AGE) == 42  # remembered as authentic

    with pytest.raises(tokens.InvalidToken):
        tokens.read_link(token, [NEW_KEY], MAX_AGE)


def test_a_remembered_token_still_expires(monkeypatch):
    token = _sign_at(monkeypatch, int(time.time()) - MAX_AGE + 60, 42, [OLD_KEY])
    assert tokens.read_link(token, [OLD_KEY], MAX_AGE) == 42
    later = time.time() + 120
    monkeypatch.setattr(tokens.time, "time", lambda: later)

    with pytest.raises(tokens.ExpiredToken):
        tokens.read_link(token, [OLD_KEY], MAX_AGE)


def test_a_token_signed_in_the_future_is_expired(monkeypatch):
    token = _sign_at(monkeypatch, int(time.time()) + 3600, 42, [OLD_KEY])

    with pytest.raises(tokens.ExpiredToken):
        tokens.read_link(token, [OLD_KEY], MAX_AGE)


def test_forged_tokens_are_not_remembered():
    token = tokens.sign_link(42, [OLD_KEY])
    # Not the last character: its low bits may be base64 padding that decodes the same.
    forged = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    before = tokens._authentic_link.cache_info().currsize

    for _ in range(3):
        with pytest.raises(tokens.InvalidToken):
            tokens.read_link(forged, [OLD_KEY], MAX_AGE)

    assert tokens._authentic_link.cache_info().currsize == before


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "42",
        "42.abc",
        "x.abc.defghijklmnopqrstuvwxyz",
        "42.abc.def",
        "4" * 30 + ".a." + "b" * 27,
    ],
)
def test_malformed_tokens_are_invalid(junk):
    with pytest.raises(tokens.InvalidToken):
        tokens.read_link(junk, [OLD_KEY], MAX_AGE)


def test_no_keys_is_a_configuration_error():
    with pytest.raises(ValueError):
        tokens.sign_link(42, [])


def test_attribution_reference_round_trips():
    value = tokens.sign_attribution(3, 42, 7, [OLD_KEY])

    ref = tokens.read_attribution(value, [OLD_KEY, NEW_KEY], 86400)

    assert (ref.campaign_id, ref.link_id, ref.click_id) == (3, 42, 7)
    assert abs(ref.clicked_at - time.time()) < 5


@pytest.mark.parametrize("value", [None, "", "3-42-7", "garbage"])
def test_missing_or_malformed_attribution_is_none(value):
    assert tokens.read_attribution(value, [OLD_KEY], 86400) is None


def test_forged_attribution_is_none():
    value = tokens.sign_attribution(3, 42, 7, [OLD_KEY])

    assert tokens.read_attribution("4" + value[1:], [OLD_KEY], 86400) is None
    assert tokens.read_attribution(value, [NEW_KEY], 86400) is None


def test_link_token_is_not_an_attribution_reference():
    assert tokens.read_attribution(tokens.sign_link(42, [OLD_KEY]), [OLD_KEY], 86400) is None


def test_old_attribution_is_none(monkeypatch):
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 7200)
    value = tokens.sign_attribution(3, 42, 7, [OLD_KEY])
    monkeypatch.undo()

    assert tokens.read_attribution(value, [OLD_KEY], 3600) is None


def test_our_signer_signs_exactly_as_itsdangerous(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1_765_000_123.7)
    keys = ["old-key-0123456789abcdef", "new-key-0123456789abcdef"]

    for salt in (tokens.LINK_SALT, tokens.ATTRIBUTION_SALT):
        ours = tokens._signer(keys, salt).sign("12-34-56")
        theirs = TimestampSigner(keys, salt=salt).sign("12-34-56")
        assert ours == theirs
