from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.extensions import db
from advocacy.types import UTCDateTime, utcnow
from advocacy.workspaces.models import WorkspaceRow

EVENT_KINDS = ("purchase", "review", "support_contact", "nps", "login", "email_click", "other")


class Customer(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_customers_workspace_updated", "workspace_id", "updated_at", "id"),
        Index("ix_customers_workspace_email", "workspace_id", "email_normalized"),
    )

    external_id: Mapped[str] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(320))
    email_normalized: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    locale: Mapped[str | None] = mapped_column(String(35))
    # An audience size the CRM may know. Stored for comparison, never trusted as a signal.
    followers: Mapped[int | None] = mapped_column(BigInteger)
    consent_email: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_social: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the person was erased: the row stays as a pseudonym for aggregates.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def consent(self) -> dict[str, bool]:
        return {"email": self.consent_email, "sms": self.consent_sms, "social": self.consent_social}


class EngagementEvent(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "engagement_events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "event_id"),
        Index("ix_engagement_events_customer_time", "workspace_id", "customer_id", "occurred_at"),
    )

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    # The CRM's own id for the event; makes re-posting it idempotent.
    event_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(20))
    label: Mapped[str | None] = mapped_column(String(64))
    # NPS 0..10, review rating 1..5, support satisfaction 1..5.
    value: Mapped[int | None] = mapped_column(Integer)
    # Purchase amount in minor units of `currency`.
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mention(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_mentions_workspace_time", "workspace_id", "occurred_at"),
        Index("ix_mentions_customer_time", "customer_id", "occurred_at"),
        CheckConstraint("sentiment >= -1 AND sentiment <= 1", name="sentiment_range"),
    )

    external_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    text: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(35))
    sentiment: Mapped[float] = mapped_column(Float)
    # "provided" by the listening tool, or "vader" when we scored the text.
    sentiment_source: Mapped[str] = mapped_column(String(16))
    reach: Mapped[int | None] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Connection(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    """A directed social tie: `source` interacts with (or follows) `target`."""

    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source_id", "target_id", "channel"),
        Index("ix_connections_workspace_target", "workspace_id", "target_id"),
        CheckConstraint("source_id <> target_id", name="not_self"),
        CheckConstraint(
            "sentiment IS NULL OR (sentiment >= -1 AND sentiment <= 1)", name="sentiment_range"
        ),
    )

    source_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    target_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(32))
    replies: Mapped[int] = mapped_column(Integer, default=0)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    shares: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    follows: Mapped[bool] = mapped_column(Boolean, default=False)
    # Tone of the source's interactions with the target: trust (+) or distrust (-).
    sentiment: Mapped[float | None] = mapped_column(Float)
    last_interaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
