"""Signed tokens: the referral link's token and the attribution cookie's click reference.

Both are itsdangerous ``TimestampSigner`` values over REFERRAL_SIGNING_KEYS (oldest first,
newest last: the newest signs, every listed key verifies), each with its own salt so one
can never be replayed as the other. They carry ids only, never personal data, and are
checked without touching the database.

A link token is ``<link id>.<timestamp>.<HMAC-SHA1>``: 38 characters for link id 123,
48 for id 10**12, so ``/r/<token>`` stays under 64.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from itsdangerous import BadSignature, TimestampSigner, want_bytes
from itsdangerous.encoding import base64_encode, int_to_bytes
from itsdangerous.signer import HMACAlgorithm

LINK_SALT = "advocacy.referral-link.v1"
ATTRIBUTION_SALT = "advocacy.attribution.v1"
# Anything else is junk and is refused before the HMAC is even computed.
_TOKEN_SHAPE = re.compile(r"^[0-9]{1,19}\.[A-Za-z0-9_\-]{1,12}\.[A-Za-z0-9_\-]{20,64}\Z")
_REF_SHAPE = re.compile(r"^[0-9]{1,19}-[0-9]{1,19}-[0-9]{1,19}\.[A-Za-z0-9_\-.]{20,80}\Z")


class InvalidToken(Exception):
    """Unknown, malformed, tampered with, or signed with a key no longer listed."""


class ExpiredToken(Exception):
    """Authentic, but older than the maximum age."""

    def __init__(self, link_id: int) -> None:
        super().__init__(f"link {link_id} token expired")
        self.link_id = link_id


def _signer(keys: Sequence[str], salt: str) -> TimestampSigner:
    return _cached_signer(tuple(keys), salt)


class PaddedHMAC:
    """HMAC with one key, its padded inner and outer hash states computed once.

    The same digest as ``hmac.digest``: each message costs two copies of a hash state
    instead of building both from the key (``hmac.new`` with a Python digest constructor,
    as itsdangerous passes, runs the pure-Python HMAC: 6 us a signature here, 2 us so).
    """

    def __init__(self, key: bytes, digest: Any) -> None:
        inner, outer = digest(), digest()
        if len(key) > inner.block_size:
            key = digest(key).digest()
        key = key.ljust(inner.block_size, b"\0")
        inner.update(bytes(b ^ 0x36 for b in key))
        outer.update(bytes(b ^ 0x5C for b in key))
        self._inner, self._outer = inner, outer

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class _PaddedAlgorithm(HMACAlgorithm):
    """itsdangerous' HMAC, through a ``PaddedHMAC`` per key (the same signatures)."""

    def __init__(self, digest_method: Any = None) -> None:
        super().__init__(digest_method)
        self._keyed: dict[bytes, PaddedHMAC] = {}
        self._lock = threading.Lock()

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        keyed = self._keyed.get(key)
        if keyed is None:
            with self._lock:
                keyed = self._keyed[key] = PaddedHMAC(key, self.digest_method)
        return keyed.digest(value)


class _KeyedSigner(TimestampSigner):
    """itsdangerous' signer, deriving each key once rather than at every signature (the
    derivation is a pure function of salt and key: a hash per click saved), and signing
    with a ``PaddedHMAC`` per derived key."""

    def __init__(self, keys: list[str], salt: str) -> None:
        super().__init__(keys, salt=salt, algorithm=_PaddedAlgorithm(hashlib.sha1))
        self._derived: dict[bytes, bytes] = {}

    def sign(self, value: str | bytes) -> bytes:
        """``TimestampSigner.sign``, the same bytes, its timestamp part encoded once a
        second (the attribution cookie is signed at every click)."""
        stamped = want_bytes(value) + self.sep + _timestamp_part(self.get_timestamp())
        signature = self.algorithm.get_signature(self.derive_key(), stamped)
        return stamped + self.sep + base64_encode(signature)

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        key = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        derived = self._derived.get(key)
        if derived is None:
            derived = self._derived[key] = super().derive_key(key)
        return derived


@lru_cache(maxsize=4)
def _timestamp_part(timestamp: int) -> bytes:
    return base64_encode(int_to_bytes(timestamp))


@lru_cache(maxsize=32)
def _cached_signer(keys: tuple[str, ...], salt: str) -> TimestampSigner:
    # Signers hold no state between calls; building one per click was a tenth of it.
    if not keys:
        raise ValueError("no signing keys configured")
    return _KeyedSigner(list(keys), salt=salt)


def sign_link(link_id: int, keys: Sequence[str]) -> str:
    """The token of a link: its id, the time of signing, the signature."""
    return _signer(keys, LINK_SALT).sign(str(link_id)).decode("ascii")


def read_link(token: str, keys: Sequence[str], max_age_seconds: int) -> int:
    """The link id a token names; raises ``InvalidToken`` or ``ExpiredToken``.

    The age is checked on every call, as itsdangerous checks it (older than
    ``max_age_seconds``, or signed in the future: expired); only the signature check of
    an authentic token is remembered.
    """
    if not _TOKEN_SHAPE.match(token):
        raise InvalidToken("malformed token")
    link_id, signed_at = _authentic_link(token, tuple(keys))
    age = int(time.time()) - signed_at
    if age > max_age_seconds or age < 0:
        raise ExpiredToken(link_id)
    return link_id


@lru_cache(maxsize=10_000)
def _authentic_link(token: str, keys: tuple[str, ...]) -> tuple[int, int]:
    """The link id and signing time of an authentic token; raises ``InvalidToken``.

    Cached by the exact token and key list: a token seen once to carry a valid signature
    carries it forever, and a key removed from the list changes the cache key. Only
    authentic tokens are cached (an exception is never remembered), so forged ones cannot
    fill the cache, and each one still costs an HMAC.
    """
    try:
        value, signed_at = _signer(keys, LINK_SALT).unsign(token, return_timestamp=True)
    except BadSignature as exc:
        raise InvalidToken("bad signature") from exc
    return int(value), int(signed_at.timestamp())


@dataclass(frozen=True)
class AttributionRef:
    """What the attribution cookie remembers of the visitor's last click."""

    campaign_id: int
    link_id: int
    click_id: int
    clicked_at: int  # Unix time of the click (the signature's timestamp)


def sign_attribution(campaign_id: int, link_id: int, click_id: int, keys: Sequence[str]) -> str:
    """The attribution cookie's value: a signed reference to one click."""
    value = f"{campaign_id}-{link_id}-{click_id}"
    return _signer(keys, ATTRIBUTION_SALT).sign(value).decode("ascii")


def read_attribution(
    value: str | None, keys: Sequence[str], max_age_seconds: int
) -> AttributionRef | None:
    """The click an attribution cookie names, or None when it is missing, forged or too old."""
    if not value or not _REF_SHAPE.match(value):
        return None
    try:
        payload, timestamp = _signer(keys, ATTRIBUTION_SALT).unsign(
            value, max_age=max_age_seconds, return_timestamp=True
        )
    except BadSignature:  # SignatureExpired included
        return None
    campaign_id, link_id, click_id = (int(part) for part in payload.split(b"-"))
    return AttributionRef(campaign_id, link_id, click_id, int(timestamp.timestamp()))
