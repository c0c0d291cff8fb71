"""Idempotency keys (IETF httpapi Idempotency-Key draft, as Stripe does it).

A key is scoped to its workspace and remembers the request it named (a fingerprint of
method, path and canonical JSON body) and, once the request completed, its status and
body. The key row is claimed in its own short transaction, committed before the work, so
a concurrent duplicate sees it; the answer is stored in the transaction of the work
itself, so it exists exactly when the work does. A failed request releases its key.

Keys are kept ``IDEMPOTENCY_TTL_HOURS`` (at least 24 hours); after that the same key
names a new request, and the business key (a conversion's ``event_id``) still stops
duplicates. These functions flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from advocacy.errors import Conflict, DomainError, Unprocessable
from advocacy.rewards.models import IdempotencyKey
from advocacy.rewards.upserts import insert_ignoring_conflicts
from advocacy.types import DbSession

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
IN_PROGRESS, COMPLETED = "in_progress", "completed"
CLAIMED, REPLAY, MISMATCH, BUSY = "claimed", "replay", "mismatch", "busy"
# A claim held this long belongs to a request that died (gunicorn kills a silent worker
# after 60 s): the key may be taken over.
ABANDONED_AFTER = timedelta(minutes=5)


class IdempotencyKeyMissing(DomainError):
    status = 400
    slug = "idempotency-key-missing"


class IdempotencyKeyReused(Unprocessable):
    slug = "idempotency-key-reused"


class IdempotencyKeyInUse(Conflict):
    slug = "idempotency-key-in-use"
    headers = {"Retry-After": "1"}


@dataclass(frozen=True)
class Claim:
    outcome: str  # claimed | replay | mismatch | busy
    key_id: int | None = None
    status: int | None = None
    body: Any = None


def check_key(value: str | None) -> str:
    """The header's value, or a 400 when it is missing or malformed."""
    if value is None or not value.strip():
        raise IdempotencyKeyMissing(
            f"Send an {HEADER} header (a unique value per operation, such as a UUID)."
        )
    if len(value) > MAX_KEY_LENGTH or not value.isascii() or not value.isprintable():
        raise IdempotencyKeyMissing(
            f"The {HEADER} must be 1-{MAX_KEY_LENGTH} printable ASCII characters."
        )
    return value


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 of method, path and the body as canonical JSON (key order and spacing
    do not matter; a body that is not JSON is taken byte for byte)."""
    try:
        canonical = json.dumps(
            json.loads(body or b"null"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except (ValueError, RecursionError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def claim_key(
    session: DbSession,
    *,
    workspace_id: int,
    key: str,
    fingerprint: str,
    now: datetime,
    ttl: timedelta,
) -> Claim:
    """Claim ``key`` for this request, or say what it already holds."""
    # (Its commit is flushed to disk like any other: a SET LOCAL synchronous_commit to skip
    # that costs a round trip, which here is dearer than the flush.)
    inserted = session.execute(
        insert_ignoring_conflicts(session, IdempotencyKey, ("workspace_id", "key"))
        .values(
            workspace_id=workspace_id,
            key=key,
            fingerprint=fingerprint,
            state=IN_PROGRESS,
            created_at=now,
            locked_at=now,
        )
        .returning(IdempotencyKey.id)
    ).scalar()
    if inserted is not None:
        return Claim(CLAIMED, inserted)
    row = session.execute(
        select(
            IdempotencyKey.id,
            IdempotencyKey.fingerprint,
            IdempotencyKey.state,
            IdempotencyKey.response_status,
            IdempotencyKey.response_body,
            IdempotencyKey.created_at,
            IdempotencyKey.locked_at,
        ).where(IdempotencyKey.workspace_id == workspace_id, IdempotencyKey.key == key)
    ).first()
    if row is None:  # released between our insert and our read: try again
        return Claim(BUSY)
    if row.created_at <= now - ttl:
        # Expired: the key names a new request now. Compare-and-set on created_at, so two
        # requests reviving it at once cannot both win.
        return _take_over(
            session, row.id, IdempotencyKey.created_at == row.created_at, fingerprint, now
        )
    if row.fingerprint != fingerprint:
        return Claim(MISMATCH, row.id)
    if row.state == COMPLETED:
        return Claim(REPLAY, row.id, row.response_status, row.response_body)
    if row.locked_at <= now - ABANDONED_AFTER:
        return _take_over(
            session, row.id, IdempotencyKey.locked_at == row.locked_at, fingerprint, now
        )
    return Claim(BUSY, row.id)


def _take_over(
    session: DbSession, key_id: int, unchanged: Any, fingerprint: str, now: datetime
) -> Claim:
    result = session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == key_id, unchanged)
        .values(
            fingerprint=fingerprint,
            state=IN_PROGRESS,
            response_status=None,
            response_body=None,
            created_at=now,
            locked_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return Claim(CLAIMED, key_id) if result.rowcount == 1 else Claim(BUSY, key_id)  # type: ignore[attr-defined]


def complete_key(session: DbSession, *, key_id: int, status: int, body: Any) -> None:
    """Store the answer; call in the transaction of the work itself."""
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == key_id)
        .values(state=COMPLETED, response_status=status, response_body=body)
        .execution_options(synchronize_session=False)
    )


def release_key(session: DbSession, *, key_id: int) -> None:
    """Forget an in-progress claim whose request failed, so a retry may run."""
    session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.id == key_id, IdempotencyKey.state == IN_PROGRESS)
        .execution_options(synchronize_session=False)
    )


def purge_keys(session: DbSession, *, now: datetime, ttl: timedelta) -> int:
    """Delete keys older than the retention period; returns how many."""
    result = session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.created_at <= now - ttl)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
