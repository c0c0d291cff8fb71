"""Idempotency keys (IETF httpapi Idempotency-Key draft, as Stripe does it).

A key is scoped to its workspace and remembers the request it named (a fingerprint of
method, path and canonical JSON body) and, once the request completed, its status and
body. The key row is claimed, the work done and the answer stored in ONE transaction: a
key exists exactly when its answer does, and a request that fails anywhere, the database
going away included, leaves nothing behind, so a retry runs as soon as the database is
back. A concurrent duplicate must not run meanwhile: on PostgreSQL the claim takes a
transaction-scoped advisory lock on the key (``pg_try_advisory_xact_lock``, in the claim's
own statement), which a duplicate finds taken and waits for without a connection, up to
``IDEMPOTENCY_WAIT_MS``, then 409; the lock goes with the transaction, however it ends (a
dropped connection included). SQLite has one writer: the claim's INSERT is enough.

Keys are kept ``IDEMPOTENCY_TTL_HOURS`` (at least 24 hours); after that the same key
names a new request, and the business key (a conversion's ``event_id``) still stops
duplicates. The key functions flush; the caller commits. :func:`idempotent` wraps a view
in all of it: claim, run, store the answer with the work, commit once. A database that
cannot be reached is a 503 with Retry-After (``errors.handle_database_error``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, request
from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from advocacy.api.auth import ApiBlueprint, current_principal
from advocacy.errors import Conflict, DomainError, Unprocessable
from advocacy.extensions import db
from advocacy.rewards.models import IdempotencyKey
from advocacy.statements import run
from advocacy.types import DbSession, UTCDateTime, utcnow
from advocacy.upserts import insert_ignoring_conflicts

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Serialization failures and deadlocks: the transaction may simply be run again.
RETRYABLE_SQLSTATES = ("40001", "40P01")
KEY_DOC = (
    "A unique value per operation (a UUID). Retrying with the same key and body returns "
    "the first answer; keys are kept at least 24 hours."
)
MAX_KEY_LENGTH = 255
IN_PROGRESS, COMPLETED = "in_progress", "completed"
CLAIMED, REPLAY, MISMATCH, BUSY = "claimed", "replay", "mismatch", "busy"
# A committed in-progress claim (written by the releases before claims and work shared
# one transaction) held this long belongs to a request that died: it may be taken over.
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


# On PostgreSQL: the advisory lock and the INSERT in one statement; the INSERT runs only
# with the lock held, so it never waits on a duplicate's uncommitted row.
_CLAIM_POSTGRESQL = text(
    """
    WITH lock AS (SELECT pg_try_advisory_xact_lock(:lock_id) AS held),
    claimed AS (
        INSERT INTO idempotency_keys
            (workspace_id, key, fingerprint, state, created_at, locked_at)
        SELECT :workspace_id, :key, :fingerprint, :state, :now, :now FROM lock WHERE held
        ON CONFLICT (workspace_id, key) DO NOTHING
        RETURNING id
    )
    SELECT lock.held, claimed.id FROM lock LEFT JOIN claimed ON true
    """
).bindparams(bindparam("now", type_=UTCDateTime()))


def _lock_id(workspace_id: int, key: str) -> int:
    """The key's advisory lock: 64 bits of its SHA-256 (a collision only serialises)."""
    digest = hashlib.sha256(f"{workspace_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _insert_claim(
    session: DbSession, *, workspace_id: int, key: str, fingerprint: str, now: datetime
) -> tuple[bool, int | None]:
    """(whether no duplicate is running, the new key row's id if it was inserted)."""
    values = {
        "workspace_id": workspace_id,
        "key": key,
        "fingerprint": fingerprint,
        "state": IN_PROGRESS,
    }
    if session.get_bind().dialect.name == "postgresql":
        row = run(
            session,
            _CLAIM_POSTGRESQL,
            {**values, "now": now, "lock_id": _lock_id(workspace_id, key)},
        ).one()
        return bool(row.held), row.id
    inserted = run(
        session,
        insert_ignoring_conflicts(session, IdempotencyKey.__table__, ("workspace_id", "key"))
        .values(**values, created_at=now, locked_at=now)
        .returning(IdempotencyKey.id),
    ).scalar()
    return True, inserted


def claim_key(
    session: DbSession,
    *,
    workspace_id: int,
    key: str,
    fingerprint: str,
    now: datetime,
    ttl: timedelta,
) -> Claim:
    """Claim ``key`` for this request in its transaction, or say what it already holds."""
    free, inserted = _insert_claim(
        session, workspace_id=workspace_id, key=key, fingerprint=fingerprint, now=now
    )
    if inserted is not None:
        return Claim(CLAIMED, inserted)
    if not free:
        return Claim(BUSY)  # a duplicate is running: its transaction holds the lock
    row = run(
        session,
        select(
            IdempotencyKey.id,
            IdempotencyKey.fingerprint,
            IdempotencyKey.state,
            IdempotencyKey.response_status,
            IdempotencyKey.response_body,
            IdempotencyKey.created_at,
            IdempotencyKey.locked_at,
        ).where(IdempotencyKey.workspace_id == workspace_id, IdempotencyKey.key == key),
    ).first()
    if row is None:  # deleted (purged) between our insert and our read: try again
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


_KEYS = IdempotencyKey.__table__
_COMPLETE = (
    update(_KEYS)
    .where(_KEYS.c.id == bindparam("key_id"))
    .values(
        state=bindparam("state"),
        response_status=bindparam("status"),
        response_body=bindparam("body", type_=_KEYS.c.response_body.type),
    )
)


def complete_key(session: DbSession, *, key_id: int, status: int, body: Any) -> None:
    """Store the answer; call in the transaction of the work itself."""
    run(
        session,
        _COMPLETE,
        {"key_id": key_id, "state": COMPLETED, "status": status, "body": body},
    )


def purge_keys(session: DbSession, *, now: datetime, ttl: timedelta) -> int:
    """Delete keys older than the retention period; returns how many."""
    result = session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.created_at <= now - ttl)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- around a view ----------------------------------------------------------------------


def _retryable(error: Exception) -> bool:
    if isinstance(error, IntegrityError):
        return True  # a concurrent duplicate committed first: a rerun finds and answers it
    return getattr(getattr(error, "orig", None), "sqlstate", None) in RETRYABLE_SQLSTATES


def _rollback() -> None:
    with contextlib.suppress(DBAPIError):  # the connection is gone: so is its transaction
        db.session.rollback()


def _claim(workspace_id: int, key: str, fingerprint: str) -> Claim:
    """Claim the key in the request's transaction, waiting a little (without holding a
    connection) while a duplicate runs."""
    config = current_app.config
    ttl = timedelta(hours=config["IDEMPOTENCY_TTL_HOURS"])
    deadline = time.monotonic() + config["IDEMPOTENCY_WAIT_MS"] / 1000
    delay = 0.005
    while True:
        claim = claim_key(
            db.session,
            workspace_id=workspace_id,
            key=key,
            fingerprint=fingerprint,
            now=utcnow(),
            ttl=ttl,
        )
        if claim.outcome == MISMATCH:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different request."
            )
        if claim.outcome in (CLAIMED, REPLAY):
            return claim
        _rollback()
        if time.monotonic() >= deadline:
            raise IdempotencyKeyInUse(
                "A request with this Idempotency-Key is still being processed; retry shortly."
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _replay(claim: Claim) -> Response:
    replay = current_app.response_class(
        json.dumps(claim.body), status=claim.status, mimetype="application/json"
    )
    replay.headers[REPLAYED_HEADER] = "true"
    return replay


def _attempt(view: Callable[..., Any], args: Any, kwargs: Any, key: Any) -> Response:
    """One transaction: claim the key (if any), run the view, store its answer, commit."""
    claim = None if key is None else _claim(*key)
    if claim is not None and claim.outcome == REPLAY:
        _rollback()
        return _replay(claim)
    response: Response = view(*args, **kwargs)
    if claim is not None and claim.key_id is not None:
        complete_key(
            db.session, key_id=claim.key_id, status=response.status_code, body=response.get_json()
        )
    db.session.commit()
    return response


def _run(view: Callable[..., Any], args: Any, kwargs: Any, key: Any) -> Response:
    """Run ``_attempt``, again after a serialization failure, deadlock or a duplicate
    committed first; nothing of a failed attempt stays, its key claim included."""
    for attempt in range(3):
        try:
            return _attempt(view, args, kwargs, key)
        except DBAPIError as exc:
            _rollback()
            if attempt == 2 or not _retryable(exc):
                # An unreachable database: 503 with Retry-After (errors.py); the retry,
                # with the same key, finds nothing of this attempt in its way.
                raise
        except BaseException:
            _rollback()
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def idempotent(blp: ApiBlueprint, *, required: bool) -> Callable[[F], F]:
    """Idempotency-Key handling around a view that returns a Response and does not commit.

    Goes between ``@blp.arguments`` (an invalid body never claims a key) and
    ``@blp.response``. Missing key: 400 when required. Same key, same request: the stored
    status and body, with ``Idempotent-Replayed: true`` (waiting up to IDEMPOTENCY_WAIT_MS
    for a first request still running, then 409). Same key, different request: 422.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get(HEADER)
            if header is None and not required:
                return _run(view, args, kwargs, None)
            key = (
                current_principal().workspace_id,
                check_key(header),
                fingerprint(request.method, request.path, request.get_data()),
            )
            return _run(view, args, kwargs, key)

        documented = blp.doc(
            parameters=[
                {
                    "in": "header",
                    "name": HEADER,
                    "required": required,
                    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
                    "description": KEY_DOC,
                }
            ]
        )(wrapper)
        busy = blp.problem_response(
            409, "A request with this Idempotency-Key is still running (Retry-After)"
        )(documented)
        return blp.problem_response(  # type: ignore[no-any-return]
            503, "The database cannot be reached (Retry-After)"
        )(busy)

    return decorator
