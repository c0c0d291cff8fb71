from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.extensions import db
from advocacy.types import BigId, UTCDateTime, utcnow


class WorkspaceRow:
    """The first columns of every row a workspace owns: its id, then the workspace's. The sort
    order keeps them first in the table, as the migrations created them."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True, sort_order=-2)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), sort_order=-1)


class Workspace(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Hosts that landing and fallback URLs may point to (the click path redirects nowhere else).
    allowed_domains: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    # IANA zone in which the console shows and buckets dates (KPI days, weeks, months).
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default=text("'UTC'"))
    # Shown on the staff invitation and password pages (None: the workspace name).
    brand_name: Mapped[str | None] = mapped_column(String(200))
    brand_colour: Mapped[str | None] = mapped_column(String(7))  # "#rrggbb"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The first characters of the key, shown in listings so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(24))
    # SHA-256 of the whole key: keys carry 256 random bits, so a fast hash is enough.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
