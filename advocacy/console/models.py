"""Staff accounts: people, their role in each workspace, their sessions and one-time tokens."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.extensions import db
from advocacy.types import BigId, UTCDateTime, utcnow
from advocacy.workspaces.roles import ROLES

TOKEN_KINDS = ("invitation", "reset")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class StaffUser(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    """A person who signs in to the console (one account for every workspace they work in)."""

    __tablename__ = "staff_users"
    __allow_unmapped__ = True  # session_token below is a plain attribute

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # normalised: lower case
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))  # Argon2id, PHC string
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The sign-in this request came with (set by the user loader, not stored): Flask-Login
    # keeps get_id() in the cookie, so a session is named by its token, not the user id.
    session_token: str | None = None

    def get_id(self) -> str | None:
        return self.session_token


class Membership(db.Model):  # type: ignore[name-defined,misc]
    """A person's role in one workspace; the role maps onto API scopes (workspaces.roles)."""

    __tablename__ = "staff_memberships"
    __table_args__ = (
        UniqueConstraint("staff_user_id", "workspace_id"),
        CheckConstraint(_one_of("role", ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffSession(db.Model):  # type: ignore[name-defined,misc]
    """One signed-in browser. Signing out deletes the row, so the cookie is dead at once."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the token
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffToken(db.Model):  # type: ignore[name-defined,misc]
    """A single-use, expiring link: an invitation to a workspace or a password reset."""

    __tablename__ = "staff_tokens"
    __table_args__ = (
        CheckConstraint(_one_of("kind", TOKEN_KINDS), name="kind"),
        Index("ix_staff_tokens_workspace_kind", "workspace_id", "kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the token
    email: Mapped[str] = mapped_column(String(320))
    # Invitations: where and as what. Resets: the workspace of the owner who started it.
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspaces.id"))
    role: Mapped[str | None] = mapped_column(String(16))
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE")
    )  # resets: whose password
    created_by_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
