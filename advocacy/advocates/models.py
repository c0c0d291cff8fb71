from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    SmallInteger,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.extensions import db
from advocacy.types import FloatVector, UTCDateTime, utcnow
from advocacy.workspaces.models import WorkspaceRow

INDEXED_RANKS = 10_000


class RankingSnapshot(WorkspaceRow, db.Model):  # type: ignore[name-defined,misc]
    """One run of the ranking for a workspace: when, with which parameters, how long."""

    __tablename__ = "ranking_snapshots"
    __table_args__ = (UniqueConstraint("workspace_id", "version"),)

    version: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    customers: Mapped[int] = mapped_column(Integer)
    eligible: Mapped[int] = mapped_column(Integer)
    connections: Mapped[int] = mapped_column(BigInteger)
    duration_ms: Mapped[int] = mapped_column(Integer)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The value model used (prior or fitted) and the fit's report; null before it existed.
    model: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AdvocateScore(db.Model):  # type: ignore[name-defined,misc]
    """One customer's components, scores, ranks and the facts behind them, in a snapshot."""

    __tablename__ = "advocate_scores"
    # Partial indexes: staff page through the top of a ranking, so only the first
    # INDEXED_RANKS ranks are indexed; maintaining full indexes would cost more than the
    # rest of the write of a million-row snapshot. Deeper pages scan the snapshot.
    __table_args__ = (
        *(
            Index(
                f"ix_advocate_scores_{objective}",
                "snapshot_id",
                f"rank_{objective}",
                postgresql_where=text(f"rank_{objective} <= {INDEXED_RANKS}"),
                sqlite_where=text(f"rank_{objective} <= {INDEXED_RANKS}"),
            )
            for objective in ("awareness", "consideration", "conversion")
        ),
        # The largest audiences first (the Advocates page sorted by followers, and the
        # Selection's contrast set): read in order instead of sorting the snapshot. About
        # 0.1 s on the write of a 100k-customer snapshot.
        # Unknown counts (NULL) sort after every known one, as ``browse`` sorts them.
        Index("ix_advocate_scores_followers", "snapshot_id", text("coalesce(followers, -1) DESC")),
    )

    # No foreign keys on purpose: these rows are derived in bulk (a million per run) and a
    # per-row referential check would dominate the write. They are written in the same
    # transaction as their snapshot, from customer ids just read; customers are never
    # deleted (erasure pseudonymises), and old snapshots are pruned scores first.
    snapshot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    engagement: Mapped[float] = mapped_column(Float)
    sentiment: Mapped[float] = mapped_column(Float)
    influence: Mapped[float] = mapped_column(Float)
    reach: Mapped[float] = mapped_column(Float)
    track_record: Mapped[float] = mapped_column(Float)
    # Scores are expected people (advocacy.graph.value): reached with a positive word
    # (awareness), acting (conversion), halfway (consideration); negative for detractors.
    score_awareness: Mapped[float] = mapped_column(Float)
    score_consideration: Mapped[float] = mapped_column(Float)
    score_conversion: Mapped[float] = mapped_column(Float)
    rank_awareness: Mapped[int] = mapped_column(Integer)
    rank_consideration: Mapped[int] = mapped_column(Integer)
    rank_conversion: Mapped[int] = mapped_column(Integer)
    # q(u): the chance they share, with a positive word, when asked.
    share_probability: Mapped[float | None] = mapped_column(Float)
    eligible: Mapped[bool] = mapped_column(Boolean)
    # Bitmask of the detractor gates that fired (0 when eligible).
    gate: Mapped[int] = mapped_column(SmallInteger)
    followers: Mapped[int | None] = mapped_column(BigInteger)
    # The numbers the reasons are written from ("NPS 10 three weeks ago"), in the order
    # the snapshot's params["fact_names"] gives.
    facts: Mapped[Any] = mapped_column(FloatVector)
