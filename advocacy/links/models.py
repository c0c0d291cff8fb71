from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.extensions import db
from advocacy.types import BigId, UTCDateTime, utcnow


class ReferralLink(db.Model):  # type: ignore[name-defined,misc]
    """A link issued to an enrolled advocate for a campaign and channel.

    ``invitee_key`` makes the same request return the same link: "" for an open link,
    "c:<customer id>" or "e:<normalised email>" for a personal invitation.
    """

    __tablename__ = "referral_links"
    __table_args__ = (
        UniqueConstraint("campaign_id", "advocate_id", "channel", "invitee_key"),
        Index("ix_referral_links_workspace_campaign", "workspace_id", "campaign_id"),
        # Attribution finds personal invitations by invitee.
        Index("ix_referral_links_invitee_email", "workspace_id", "invitee_email_normalized"),
        Index("ix_referral_links_invitee_customer", "invitee_customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"))
    advocate_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(32))
    invitee_key: Mapped[str] = mapped_column(String(340), default="")
    invitee_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    invitee_email_normalized: Mapped[str | None] = mapped_column(String(320))
    token: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Click(db.Model):  # type: ignore[name-defined,misc]
    """One visit of a referral link."""

    __tablename__ = "clicks"
    __table_args__ = (
        Index("ix_clicks_link_visitor", "link_id", "visitor_id"),
        # Attribution: a visitor's clicks in a workspace, latest first.
        Index("ix_clicks_workspace_visitor", "workspace_id", "visitor_id", "clicked_at"),
        # The INCLUDE columns let the KPI queries read only the index: a campaign's clicks
        # per period, and an advocate's clicks in a range, link by link.
        Index(
            "ix_clicks_campaign_time",
            "workspace_id",
            "campaign_id",
            "clicked_at",
            postgresql_include=["link_id", "visitor_id"],
        ),
        Index("ix_clicks_link_time", "link_id", "clicked_at", postgresql_include=["visitor_id"]),
        # A campaign's visitors in order: distinct visitors without a sort (KPI totals), and
        # a visitor's recent clicks on a campaign (the click path's unique-visit check).
        Index(
            "ix_clicks_campaign_visitor",
            "campaign_id",
            "visitor_id",
            "clicked_at",
            postgresql_include=["workspace_id"],
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No foreign keys: a click is recorded only after its link's row was read (link,
    # campaign, workspace), and none of those rows is ever deleted. The three checks cost
    # PostgreSQL two thirds of a click's insert (a lookup and a row lock on each parent:
    # 47 us a row with them, 15 without, measured with COPY): the click path's largest
    # cost after Python's.
    workspace_id: Mapped[int] = mapped_column(BigId)
    campaign_id: Mapped[int] = mapped_column(BigId)
    link_id: Mapped[int] = mapped_column(BigId)
    visitor_id: Mapped[str] = mapped_column(String(64))
    # Keyed hash (HMAC with SECRET_KEY) of the IP address: comparable, not reversible.
    ip_hash: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    # First visit of this visitor to this campaign within its attribution window.
    unique_visit: Mapped[bool] = mapped_column(default=True)
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
