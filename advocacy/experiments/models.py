"""Campaign experiments: variants with their incentives, sticky assignment of advocates or
invitees, and significance tests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.campaigns.models import RewardColumns, reward_amount_checks
from advocacy.extensions import db
from advocacy.types import UTCDateTime, utcnow
from advocacy.workspaces.models import WorkspaceRow

# Who is assigned to a variant: the advocate (when enrolled, or at their first link if they
# were enrolled before the experiment existed) or the invitee (when a conversion of theirs
# is attributed to the campaign).
UNITS = ("advocate", "invitee")


class Experiment(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    """A campaign's experiment: at most one per campaign."""

    __tablename__ = "experiments"
    __table_args__ = (
        UniqueConstraint("campaign_id"),
        CheckConstraint("min_sample >= 1", name="min_sample"),
        CheckConstraint("unit IN ('advocate', 'invitee')", name="unit"),
    )

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    unit: Mapped[str] = mapped_column(String(10))
    # Units per variant before a winner may be declared.
    min_sample: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExperimentVariant(WorkspaceRow, RewardColumns, db.Model):  # type: ignore[name-defined,misc]
    """One arm: its allocation weight and the incentive it offers instead of the campaign's
    (the same reward columns as the campaign's)."""

    __tablename__ = "experiment_variants"
    __table_args__ = (
        UniqueConstraint("experiment_id", "name"),
        CheckConstraint("weight >= 1", name="weight"),
        *reward_amount_checks(),
    )

    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"))
    name: Mapped[str] = mapped_column(String(32))
    weight: Mapped[int] = mapped_column(Integer)
    control: Mapped[bool] = mapped_column(Boolean, default=False)
    # Order of the variants as defined: the allocation walks their weights in this order.
    position: Mapped[int] = mapped_column(Integer)


class ExperimentAssignment(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    """A unit's variant, recorded once (unique per experiment and customer): sticky.

    ``customer_id`` is the advocate or the invitee, as the experiment's unit says.
    """

    __tablename__ = "experiment_assignments"
    __table_args__ = (
        UniqueConstraint("experiment_id", "customer_id"),
        Index("ix_experiment_assignments_variant", "variant_id", "customer_id"),
    )

    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("experiment_variants.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
