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

from advocacy.extensions import db
from advocacy.types import BigId, UTCDateTime, utcnow


class Experiment(db.Model):  # type: ignore[name-defined,misc]
    """A campaign's experiment: at most one per campaign."""

    __tablename__ = "experiments"
    __table_args__ = (
        UniqueConstraint("campaign_id"),
        CheckConstraint("min_sample >= 1", name="min_sample"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    # Advocates per variant before a winner may be declared.
    min_sample: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExperimentVariant(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "experiment_variants"
    __table_args__ = (
        UniqueConstraint("experiment_id", "name"),
        CheckConstraint("weight >= 1", name="weight"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"))
    name: Mapped[str] = mapped_column(String(32))
    weight: Mapped[int] = mapped_column(Integer)
    control: Mapped[bool] = mapped_column(Boolean, default=False)
    # Order of the variants as defined: the allocation walks their weights in this order.
    position: Mapped[int] = mapped_column(Integer)


class ExperimentAssignment(db.Model):  # type: ignore[name-defined,misc]
    """An advocate's variant, recorded once: later assignments return it (sticky)."""

    __tablename__ = "experiment_assignments"
    __table_args__ = (
        UniqueConstraint("experiment_id", "advocate_id"),
        Index("ix_experiment_assignments_variant", "variant_id", "advocate_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("experiment_variants.id"))
    advocate_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
