from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.extensions import db
from advocacy.types import BigId, UTCDateTime, utcnow


class Share(db.Model):  # type: ignore[name-defined,misc]
    """An advocate shared a campaign link on a channel, as reported by the site or channel.

    ``impressions`` is what the channel reported, when it did: kept apart from reach
    (distinct people on the graph), never added to it.
    """

    __tablename__ = "shares"
    __table_args__ = (
        UniqueConstraint("workspace_id", "share_id"),
        Index("ix_shares_campaign_time", "workspace_id", "campaign_id", "occurred_at"),
        CheckConstraint("impressions IS NULL OR impressions >= 0", name="impressions"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    share_id: Mapped[str] = mapped_column(String(128))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    advocate_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(32))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("referral_links.id"))
    impressions: Mapped[int | None] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
