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

OBJECTIVES = ("awareness", "consideration", "conversion")
STATUSES = ("draft", "active", "paused", "ended")
REWARD_KINDS = ("credit", "coupon", "points")
TRIGGERS = ("signup", "purchase")
ATTRIBUTION_MODELS = ("last_click", "first_click")
ENROLLMENT_METHODS = ("manual", "top", "coverage", "spread")


def reward_amount_checks() -> list[CheckConstraint]:
    """The CHECKs of the columns of :class:`RewardColumns`, for ``__table_args__``."""
    return [
        CheckConstraint(
            f"{side}_reward_amount IS NULL OR {side}_reward_amount >= 0", name=f"{side}_amount"
        )
        for side in ("inviter", "invitee")
    ]


class RewardColumns:
    """Both rewards of an offer (a campaign's, or an experiment variant's instead of it), in
    integer minor units or points; a side without a reward has NULLs (one-sided offer)."""

    inviter_reward_kind: Mapped[str | None] = mapped_column(String(10))
    inviter_reward_amount: Mapped[int | None] = mapped_column(BigInteger)
    inviter_reward_currency: Mapped[str | None] = mapped_column(String(3))
    invitee_reward_kind: Mapped[str | None] = mapped_column(String(10))
    invitee_reward_amount: Mapped[int | None] = mapped_column(BigInteger)
    invitee_reward_currency: Mapped[str | None] = mapped_column(String(3))


class Campaign(WorkspaceRow, RewardColumns, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "campaigns"
    __table_args__ = (
        Index("ix_campaigns_workspace_id_id", "workspace_id", "id"),
        *reward_amount_checks(),
    )

    name: Mapped[str] = mapped_column(String(200))
    objective: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    one_sided: Mapped[bool] = mapped_column(Boolean, default=False)
    trigger_event: Mapped[str] = mapped_column(String(10))
    min_order_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    first_purchase_only: Mapped[bool] = mapped_column(Boolean, default=False)
    attribution_window_days: Mapped[int] = mapped_column(Integer, default=30)
    attribution_model: Mapped[str] = mapped_column(String(12), default="last_click")
    hold_days: Mapped[int] = mapped_column(Integer, default=0)
    # Total reward budget in minor units (NULL = unlimited) and rewarded referrals per advocate.
    budget: Mapped[int | None] = mapped_column(BigInteger)
    per_advocate_cap: Mapped[int | None] = mapped_column(Integer)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    landing_url: Mapped[str] = mapped_column(String(2048))
    fallback_url: Mapped[str | None] = mapped_column(String(2048))
    disclosure: Mapped[str | None] = mapped_column(Text)
    # Per-locale texts for the invitation and friendly error pages: {"de": {"disclosure": ...}}.
    translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Overrides of the KPI program-score weights (None = the objective's defaults).
    score_weights: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CampaignAudit(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    """Who changed what on a campaign, and when: rewards, status and URLs."""

    __tablename__ = "campaign_audit"
    __table_args__ = (Index("ix_campaign_audit_campaign_at", "campaign_id", "at"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[Any] = mapped_column(JSON)
    new_value: Mapped[Any] = mapped_column(JSON)


class Enrollment(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    """An advocate selected into a campaign: by whom, how, from which ranking."""

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("campaign_id", "customer_id"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    method: Mapped[str] = mapped_column(String(10))
    # The ranking snapshot (and the pick's place and gain in it) for ranked selections.
    snapshot_id: Mapped[int | None] = mapped_column(BigInteger)
    position: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    marginal_gain: Mapped[float | None] = mapped_column(Float)
    enrolled_by_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    enrolled_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
