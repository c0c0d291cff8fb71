"""Conversions, referrals, rewards with their history, refunds, the double-entry ledger,
and the idempotency keys of conversion requests.

Ledger transactions and entries, and reward history, are insert-only: the ORM refuses to
update or delete them (see ``_refuse_changes``), and no code path tries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from advocacy.extensions import db
from advocacy.types import BigId, UTCDateTime, utcnow
from advocacy.workspaces.models import WorkspaceRow

CONVERSION_EVENTS = ("signup", "purchase")
ROLES = ("inviter", "invitee")
EVIDENCE = ("ref", "cookie", "visitor", "invitation", "prior_referral")


class Conversion(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    """A sign-up or purchase reported by the site, once per (workspace, event_id)."""

    __tablename__ = "conversions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "event_id"),
        Index("ix_conversions_customer_time", "customer_id", "occurred_at"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount"),
        CheckConstraint("refunded_amount >= 0", name="refunded_amount"),
    )

    event_id: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(10))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    email_normalized: Mapped[str | None] = mapped_column(String(320))
    # Minor units of `currency` (purchases only).
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # SHA-256 of the reported facts: the same event_id with other facts is a clash, not a retry.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # The attribution evidence as reported (the IP only as a keyed hash, like clicks).
    ref: Mapped[str | None] = mapped_column(String(200))
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    attributed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why it was not attributed (no_evidence, outside_attribution_window, ...).
    reason: Mapped[str | None] = mapped_column(String(40))
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Referral(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    """The attribution of one conversion to an advocate's link, with the evidence that won."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("conversion_id"),
        Index("ix_referrals_campaign_invitee", "campaign_id", "invitee_id"),
        Index("ix_referrals_campaign_advocate", "campaign_id", "advocate_id"),
        Index("ix_referrals_advocate_time", "advocate_id", "created_at"),
        Index("ix_referrals_invitee_time", "invitee_id", "created_at"),
    )

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    conversion_id: Mapped[int] = mapped_column(ForeignKey("conversions.id"))
    link_id: Mapped[int] = mapped_column(ForeignKey("referral_links.id"))
    # The winning click, no foreign key: clicks are written behind the redirect, so a
    # referral may name a click (by the attribution cookie) before its row is written.
    click_id: Mapped[int | None] = mapped_column(BigId)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    invitee_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    evidence: Mapped[str] = mapped_column(String(16))
    # When the winning touch happened (the click, or the invitation): the window's start.
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reward(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    """What one side (inviter or invitee) of one conversion earns; at most one per role."""

    __tablename__ = "rewards"
    __table_args__ = (
        UniqueConstraint("conversion_id", "role"),
        Index("ix_rewards_workspace_state", "workspace_id", "state", "id"),
        Index("ix_rewards_beneficiary", "beneficiary_id", "id"),
        Index("ix_rewards_campaign_state", "campaign_id", "state"),
        # The approval job's queue: pending rewards by due time. Partial, so rewards
        # approved as written never enter it, and no count of live rewards (state IN
        # (...)) can mistake it for a way in: without planner statistics (a database
        # without autovacuum) that plan read every live reward per referral counted.
        Index(
            "ix_rewards_due",
            "approve_after",
            "id",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        Index("ix_rewards_referral", "referral_id"),
        CheckConstraint("amount >= 0", name="amount"),
    )

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    conversion_id: Mapped[int] = mapped_column(ForeignKey("conversions.id"))
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    role: Mapped[str] = mapped_column(String(8))
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(10))
    # Minor units of `currency`, or points when currency is NULL.
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(10))
    # Fraud findings and review notes (reason codes), oldest first.
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The end of the return window: `rewards settle` approves pending rewards after it.
    approve_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What fulfilled it (a coupon code), set when issued.
    code: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def unit(self) -> str:
        return self.currency or "points"


class RewardEvent(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    """One step of a reward's history (insert-only)."""

    __tablename__ = "reward_events"
    __table_args__ = (Index("ix_reward_events_reward", "reward_id", "id"),)

    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"))
    from_state: Mapped[str | None] = mapped_column(String(10))
    to_state: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(500))
    # The API key or staff member that acted; both NULL: the service itself (conversion,
    # settlement).
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Refund(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("conversion_id", "refund_id"),
        CheckConstraint("amount > 0", name="amount"),
    )

    conversion_id: Mapped[int] = mapped_column(ForeignKey("conversions.id"), index=True)
    # The shop's own refund id, when it sends one: makes re-sending it harmless.
    refund_id: Mapped[str | None] = mapped_column(String(128))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerAccount(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    """A campaign's reward budget or a customer's rewards, in one unit (currency or points)."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("workspace_id", "code"),
        Index("ix_ledger_accounts_customer", "customer_id"),
    )

    # "campaign:<id>:<unit>" or "customer:<id>:<unit>"
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    unit: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerTransaction(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    """A balanced movement: a reward's award, or the reversal of one (insert-only)."""

    __tablename__ = "ledger_transactions"
    __table_args__ = (
        UniqueConstraint("reward_id", "kind"),
        # At most one reversal per original transaction.
        UniqueConstraint("reverses_id"),
    )

    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"))
    kind: Mapped[str] = mapped_column(String(10))  # award | reversal
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerEntry(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    """One leg of a transaction: a signed amount on one account (insert-only)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_account", "account_id"),
        Index("ix_ledger_entries_transaction", "transaction_id"),
    )

    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    """An Idempotency-Key of a workspace: the request it named and, once done, the answer."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("workspace_id", "key"),
        Index("ix_idempotency_keys_created", "created_at"),
    )

    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path and canonical JSON body.
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12))  # in_progress | completed
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the current holder claimed it: a claim older than a few minutes was abandoned.
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


INSERT_ONLY = (LedgerTransaction, LedgerEntry, RewardEvent)


class ImmutableRowError(RuntimeError):
    """Something tried to change or remove a ledger or history row."""


def _refuse_changes(_mapper: Any, _connection: Any, target: Any) -> None:
    raise ImmutableRowError(f"{type(target).__name__} rows are insert-only")


for _model in INSERT_ONLY:
    event.listen(_model, "before_update", _refuse_changes)
    event.listen(_model, "before_delete", _refuse_changes)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: Any) -> None:
    """ORM-level bulk UPDATE/DELETE of insert-only models is refused as well."""
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is not None and mapper.class_ in INSERT_ONLY:
        raise ImmutableRowError(f"{mapper.class_.__name__} rows are insert-only")
