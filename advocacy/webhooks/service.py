"""Subscriptions, the outbox, and the delivery bookkeeping of the worker.

Domain events are written by ``emit_events`` in the transaction that caused them (the
transactional outbox). The worker then fans each event out into one delivery per
matching subscription (``dispatch_events``), leases due deliveries (``lease_deliveries``),
sends them outside any transaction, and records each outcome (``record_outcome``):
delivered, or retried with exponential back-off, or dead after the last attempt. A dead
delivery can be replayed (``replay_delivery``). Functions flush; the caller commits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from advocacy.errors import Conflict, NotFound, Unprocessable
from advocacy.statements import run
from advocacy.types import DbSession
from advocacy.upserts import dialect_name, insert_ignoring_conflicts
from advocacy.webhooks import delivery, signing
from advocacy.webhooks.models import EVENT_TYPES, OutboxEvent, WebhookDelivery, WebhookSubscription

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
SUBSCRIPTION_DELETED = "subscription deleted"
MAX_SUBSCRIPTIONS = 20


# --- subscriptions ------------------------------------------------------------------


def create_subscription(
    session: DbSession,
    *,
    workspace_id: int,
    url: str,
    event_types: Sequence[str],
    description: str | None,
    allow_private: bool,
) -> WebhookSubscription:
    """Register a URL with a new secret: its shape now, its addresses at each delivery
    (no DNS lookup in the request)."""
    try:
        delivery.check_registration(url, allow_private=allow_private)
    except delivery.TargetRefused as exc:
        raise Unprocessable(str(exc), errors={"url": [str(exc)]}) from exc
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise Unprocessable(
            "Unknown event types.", errors={"event_types": [f"Unknown: {', '.join(unknown)}."]}
        )
    active = session.scalars(
        select(WebhookSubscription.id).where(
            WebhookSubscription.workspace_id == workspace_id,
            WebhookSubscription.deleted_at.is_(None),
        )
    ).all()
    if len(active) >= MAX_SUBSCRIPTIONS:
        raise Conflict(f"A workspace has at most {MAX_SUBSCRIPTIONS} webhook subscriptions.")
    subscription = WebhookSubscription(
        workspace_id=workspace_id,
        url=url,
        secret=signing.new_secret(),
        event_types=sorted(set(event_types)),
        description=description,
    )
    session.add(subscription)
    session.flush()
    return subscription


def get_subscription(
    session: DbSession, *, workspace_id: int, subscription_id: int
) -> WebhookSubscription:
    subscription = None
    if 0 < subscription_id < 2**63:
        subscription = session.scalar(
            select(WebhookSubscription).where(
                WebhookSubscription.id == subscription_id,
                WebhookSubscription.workspace_id == workspace_id,
                WebhookSubscription.deleted_at.is_(None),
            )
        )
    if subscription is None:
        raise NotFound(f"No webhook subscription {subscription_id} in this workspace.")
    return subscription


def list_subscriptions(session: DbSession, *, workspace_id: int) -> list[WebhookSubscription]:
    return list(
        session.scalars(
            select(WebhookSubscription)
            .where(
                WebhookSubscription.workspace_id == workspace_id,
                WebhookSubscription.deleted_at.is_(None),
            )
            .order_by(WebhookSubscription.id)
        )
    )


def delete_subscription(
    session: DbSession, *, workspace_id: int, subscription_id: int, now: datetime
) -> None:
    """Stop sending to it: its pending deliveries are dead at once (a backlog left for the
    worker to find would fill its batches with rows it cannot send)."""
    subscription = get_subscription(
        session, workspace_id=workspace_id, subscription_id=subscription_id
    )
    subscription.deleted_at = now
    session.flush()
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription.id, WebhookDelivery.state == PENDING)
        .values(state=DEAD, last_error=SUBSCRIPTION_DELETED, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def list_deliveries(
    session: DbSession,
    *,
    workspace_id: int,
    subscription_id: int,
    state: str | None,
    limit: int,
    before: int | None,
) -> list[tuple[WebhookDelivery, OutboxEvent]]:
    """Newest first; ``before`` is the last id of the previous page."""
    get_subscription(session, workspace_id=workspace_id, subscription_id=subscription_id)
    query = (
        select(WebhookDelivery, OutboxEvent)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    if state is not None:
        query = query.where(WebhookDelivery.state == state)
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    return [(row[0], row[1]) for row in session.execute(query)]


def replay_delivery(
    session: DbSession, *, workspace_id: int, subscription_id: int, delivery_id: int, now: datetime
) -> tuple[WebhookDelivery, OutboxEvent]:
    """Send a delivery again from scratch (a dead one, typically); same webhook-id."""
    get_subscription(session, workspace_id=workspace_id, subscription_id=subscription_id)
    found = session.execute(
        select(WebhookDelivery, OutboxEvent)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.subscription_id == subscription_id,
        )
        .with_for_update(of=WebhookDelivery)
    ).first()
    if found is None:
        raise NotFound(f"No delivery {delivery_id} of webhook {subscription_id}.")
    row, event = found[0], found[1]
    if row.state == PENDING:
        raise Conflict("The delivery is still being attempted.")
    row.state, row.attempts, row.next_attempt_at = PENDING, 0, now
    row.last_error, row.updated_at = None, now
    session.flush()
    return row, event


# --- the outbox ---------------------------------------------------------------------


@dataclass(frozen=True)
class DomainEvent:
    workspace_id: int
    type: str
    data: dict[str, Any]


def outbox_rows(events: Sequence[DomainEvent], now: datetime) -> list[dict[str, Any]]:
    """The outbox rows of ``events``, each with a new message id."""
    return [
        {
            "workspace_id": e.workspace_id,
            "msg_id": signing.new_message_id(),
            "type": e.type,
            "payload": e.data,
            "created_at": now,
        }
        for e in events
    ]


def emit_events(session: DbSession, *, events: Sequence[DomainEvent], now: datetime) -> None:
    """Write events to the outbox, in the caller's transaction."""
    if not events:
        return
    run(session, insert(OutboxEvent.__table__), outbox_rows(events, now))


def _skip_locked(session: DbSession, query: Any, of: Any = None) -> Any:
    # Several workers share the tables: each takes rows the others have not locked.
    if dialect_name(session) == "postgresql":
        return query.with_for_update(skip_locked=True, of=of)
    return query


def dispatch_events(session: DbSession, *, now: datetime, limit: int = 500) -> int:
    """Fan undispatched events out into deliveries for the subscriptions that want them."""
    events = list(
        session.execute(
            _skip_locked(
                session,
                select(
                    OutboxEvent.id,
                    OutboxEvent.workspace_id,
                    OutboxEvent.type,
                    OutboxEvent.created_at,
                )
                .where(OutboxEvent.dispatched_at.is_(None))
                .order_by(OutboxEvent.id)
                .limit(limit),
            )
        )
    )
    if not events:
        return 0
    workspace_ids = {e.workspace_id for e in events}
    subscriptions: dict[int, list[Any]] = {}
    for sub in session.execute(
        select(
            WebhookSubscription.id,
            WebhookSubscription.workspace_id,
            WebhookSubscription.event_types,
            WebhookSubscription.created_at,
        ).where(
            WebhookSubscription.workspace_id.in_(workspace_ids),
            WebhookSubscription.deleted_at.is_(None),
        )
    ):
        subscriptions.setdefault(sub.workspace_id, []).append(sub)
    rows = [
        {
            "workspace_id": e.workspace_id,
            "event_id": e.id,
            "subscription_id": sub.id,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for e in events
        for sub in subscriptions.get(e.workspace_id, [])
        if (not sub.event_types or e.type in sub.event_types)
        # Only what happened since it subscribed: not the outbox's backlog.
        and e.created_at >= sub.created_at
    ]
    if rows:
        session.execute(
            insert_ignoring_conflicts(session, WebhookDelivery, ("event_id", "subscription_id")),
            rows,
        )
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_([e.id for e in events]))
        .values(dispatched_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(events)


@dataclass(frozen=True)
class Job:
    """A leased delivery, with everything needed to send it outside a transaction."""

    delivery_id: int
    attempts: int  # before this one
    url: str
    secret: str
    msg_id: str
    body: bytes


def event_body(event: OutboxEvent | Any) -> bytes:
    """The JSON body of an event: type, timestamp, data (the Standard Webhooks shape)."""
    return json.dumps(
        {"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.payload},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def _due_deliveries(session: DbSession, *, now: datetime, limit: int) -> list[Any]:
    return list(
        session.execute(
            _skip_locked(
                session,
                select(
                    WebhookDelivery.id,
                    WebhookDelivery.attempts,
                    WebhookSubscription.url,
                    WebhookSubscription.secret,
                    WebhookSubscription.deleted_at,
                    OutboxEvent.msg_id,
                    OutboxEvent.type,
                    OutboxEvent.payload,
                    OutboxEvent.created_at,
                )
                .join(
                    WebhookSubscription,
                    WebhookSubscription.id == WebhookDelivery.subscription_id,
                )
                .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
                .where(WebhookDelivery.state == PENDING, WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit),
                of=WebhookDelivery,
            )
        )
    )


def lease_deliveries(
    session: DbSession, *, now: datetime, limit: int = 50, lease: timedelta
) -> list[Job]:
    """Take due deliveries for ``lease``: another worker skips them until it runs out.

    Deliveries of a deleted subscription are dead as they come up, and the next batch is
    taken: a batch of them alone must not read as "nothing due" (the worker would sleep
    while live deliveries wait behind them).
    """
    while True:
        rows = _due_deliveries(session, now=now, limit=limit)
        if not rows:
            return []
        gone = [r.id for r in rows if r.deleted_at is not None]
        if gone:
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(gone))
                .values(state=DEAD, last_error=SUBSCRIPTION_DELETED, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        jobs = [
            Job(r.id, r.attempts, r.url, r.secret, r.msg_id, event_body(r))
            for r in rows
            if r.deleted_at is None
        ]
        if jobs:
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_([j.delivery_id for j in jobs]))
                .values(next_attempt_at=now + lease, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            return jobs


def record_outcome(
    session: DbSession,
    *,
    job: Job,
    outcome: delivery.Outcome,
    now: datetime,
    max_attempts: int,
    retry_base_seconds: int,
) -> str:
    """Delivered, retried later (exponential back-off), or dead after the last attempt."""
    attempts = job.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_status": outcome.status,
        "last_error": None if outcome.ok else (outcome.error or "failed")[:500],
        "updated_at": now,
    }
    if outcome.ok:
        values.update(state=DELIVERED, delivered_at=now)
    elif attempts >= max_attempts:
        values.update(state=DEAD)
    else:
        values.update(
            next_attempt_at=now
            + timedelta(seconds=delivery.retry_delay(attempts, retry_base_seconds))
        )
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == job.delivery_id, WebhookDelivery.state == PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return str(values.get("state", PENDING))


def pending_work(session: DbSession, *, now: datetime) -> bool:
    """Whether anything is waiting: an undispatched event or a due delivery."""
    return (
        session.execute(
            select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None)).limit(1)
        ).first()
        is not None
        or session.execute(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.state == PENDING,
                WebhookDelivery.next_attempt_at <= now,
            )
            .limit(1)
        ).first()
        is not None
    )
