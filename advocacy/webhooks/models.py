"""Webhook subscriptions, the transactional outbox, and one delivery per (event, subscription)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.extensions import db
from advocacy.types import UTCDateTime, utcnow
from advocacy.workspaces.models import WorkspaceRow

EVENT_TYPES = (
    "referral.attributed",
    "reward.created",
    "reward.approved",
    "reward.rejected",
    "reward.issued",
    "reward.reversed",
)
DELIVERY_STATES = ("pending", "delivered", "dead")


class WebhookSubscription(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "webhook_subscriptions"
    __table_args__ = (Index("ix_webhook_subscriptions_workspace", "workspace_id", "id"),)

    url: Mapped[str] = mapped_column(String(2048))
    # "whsec_" + base64 of 32 random bytes (Standard Webhooks).
    secret: Mapped[str] = mapped_column(String(64))
    # Event types it receives; empty means all.
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Deleted subscriptions stay (their deliveries' history refers to them) but get nothing.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxEvent(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    """A domain event, written in the transaction that caused it."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        UniqueConstraint("msg_id"),
        Index("ix_outbox_events_dispatch", "dispatched_at", "id"),
    )

    # The stable webhook-id of every delivery of this event (receivers drop duplicates by it).
    msg_id: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it was fanned out into deliveries (NULL: not yet).
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookDelivery(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
    )

    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Also the lease: a worker that takes a delivery pushes this forward before sending.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
