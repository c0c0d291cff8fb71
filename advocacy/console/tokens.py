"""Invitations and password resets: single-use, expiring links whose token is stored hashed.

The service sends no mail: the link is shown once to the owner (or printed by the CLI),
who passes it on. Using a link claims it with one guarded UPDATE, so two tabs (or two
people) submitting the same link at once cannot both succeed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from advocacy.console import accounts
from advocacy.console.models import Membership, StaffToken, StaffUser
from advocacy.errors import Conflict, Forbidden, NotFound, Unprocessable
from advocacy.types import DbSession, utcnow
from advocacy.workspaces.service import get_workspace

INVITATION_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(hours=24)
UNUSABLE = "This link is unknown, already used or expired: ask an owner for a new one."


@dataclass(frozen=True)
class IssuedToken:
    """A link as issued: the secret exists only here, once."""

    token: StaffToken
    secret: str


def _issue(session: DbSession, now: datetime, lifetime: timedelta, **fields: object) -> IssuedToken:
    secret = secrets.token_urlsafe(32)
    token = StaffToken(
        token_hash=accounts.token_hash(secret), created_at=now, expires_at=now + lifetime, **fields
    )
    session.add(token)
    session.flush()
    return IssuedToken(token, secret)


def _retire_open(session: DbSession, now: datetime, *conditions: object) -> None:
    """Earlier open links for the same purpose stop working: only the newest is valid."""
    session.execute(
        update(StaffToken)
        .where(StaffToken.used_at.is_(None), StaffToken.expires_at > now, *conditions)  # type: ignore[arg-type]
        .values(used_at=now)
    )


def invite_staff(
    session: DbSession,
    *,
    workspace_id: int,
    email: str,
    role: str,
    invited_by: int | None,
    now: datetime | None = None,
) -> IssuedToken:
    """An invitation to join a workspace with a role."""
    now = now or utcnow()
    accounts.check_role(role)
    email = accounts.normalise_staff_email(email)
    get_workspace(session, workspace_id=workspace_id)
    user = accounts.find_staff(session, email=email)
    if user is not None and any(
        m.workspace_id == workspace_id
        for m in accounts.list_memberships(session, staff_user_id=user.id)
    ):
        raise Conflict(
            "This person already works in this workspace.",
            errors={"email": ["Already a member of this workspace."]},
        )
    _retire_open(
        session,
        now,
        StaffToken.kind == "invitation",
        StaffToken.workspace_id == workspace_id,
        StaffToken.email == email,
    )
    return _issue(
        session,
        now,
        INVITATION_LIFETIME,
        kind="invitation",
        email=email,
        workspace_id=workspace_id,
        role=role,
        created_by_staff_id=invited_by,
    )


def start_password_reset(
    session: DbSession,
    *,
    staff_user_id: int,
    started_by: int | None = None,
    workspace_id: int | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """A reset link for a person; an owner may start one only for their own staff.

    ``started_by``/``workspace_id``: the owner and the workspace they act in (None from
    the CLI). An owner cannot reset the password of someone who also works in a workspace
    they do not own: the link would give them that person's access there.
    """
    now = now or utcnow()
    user = accounts.get_staff(session, staff_user_id=staff_user_id)
    if workspace_id is not None:
        theirs = {m.workspace_id for m in accounts.list_memberships(session, staff_user_id=user.id)}
        if workspace_id not in theirs:
            raise NotFound("No such staff member in this workspace.")
        owned = set(
            session.scalars(
                select(Membership.workspace_id).where(
                    Membership.staff_user_id == started_by, Membership.role == "owner"
                )
            )
        )
        if not theirs <= owned:
            raise Forbidden(
                "This person also works in workspaces you do not own: ask them to use "
                "the CLI's `staff reset`, or an owner of every one of their workspaces."
            )
    _retire_open(session, now, StaffToken.kind == "reset", StaffToken.staff_user_id == user.id)
    return _issue(
        session,
        now,
        RESET_LIFETIME,
        kind="reset",
        email=user.email,
        staff_user_id=user.id,
        workspace_id=workspace_id,
        created_by_staff_id=started_by,
    )


def find_token(
    session: DbSession, *, kind: str, secret: str, now: datetime | None = None
) -> StaffToken:
    """An unused, unexpired link of this kind; NotFound otherwise (never saying which)."""
    token = session.scalars(
        select(StaffToken).where(
            StaffToken.token_hash == accounts.token_hash(secret),
            StaffToken.kind == kind,
            StaffToken.used_at.is_(None),
            StaffToken.expires_at > (now or utcnow()),
        )
    ).one_or_none()
    if token is None or len(secret) > 100:
        raise NotFound(UNUSABLE)
    return token


def _claim(session: DbSession, token: StaffToken, now: datetime) -> None:
    claimed = session.execute(
        update(StaffToken)
        .where(StaffToken.id == token.id, StaffToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound(UNUSABLE)


def accept_invitation(
    session: DbSession,
    *,
    secret: str,
    password: str,
    name: str | None = None,
    now: datetime | None = None,
) -> StaffUser:
    """Join the workspace: a new account with this password, or a known one proven by it."""
    now = now or utcnow()
    token = find_token(session, kind="invitation", secret=secret, now=now)
    user = accounts.find_staff(session, email=token.email)
    if user is None:
        accounts.check_password(password)
    elif accounts.authenticate_staff(session, email=token.email, password=password) is None:
        raise Unprocessable(
            "This email already has an account: enter its password to join.",
            errors={"password": ["Enter the password of your existing account."]},
        )
    _claim(session, token, now)
    if user is None:
        user = StaffUser(
            email=token.email,
            name=(name or "").strip() or None,
            password_hash=accounts.hash_password(password),
        )
        session.add(user)
        session.flush()
    assert token.workspace_id is not None and token.role is not None
    accounts.add_membership(
        session, staff_user_id=user.id, workspace_id=token.workspace_id, role=token.role
    )
    return user


def reset_password(
    session: DbSession, *, secret: str, password: str, now: datetime | None = None
) -> StaffUser:
    """Set a new password with a reset link; every session of the person ends."""
    now = now or utcnow()
    token = find_token(session, kind="reset", secret=secret, now=now)
    accounts.check_password(password)
    _claim(session, token, now)
    assert token.staff_user_id is not None
    user = accounts.get_staff(session, staff_user_id=token.staff_user_id)
    accounts.set_password(session, user=user, password=password)
    return user


def list_invitations(
    session: DbSession, *, workspace_id: int, now: datetime | None = None
) -> list[StaffToken]:
    """Open invitations of a workspace, newest first."""
    return list(
        session.scalars(
            select(StaffToken)
            .where(
                StaffToken.workspace_id == workspace_id,
                StaffToken.kind == "invitation",
                StaffToken.used_at.is_(None),
                StaffToken.expires_at > (now or utcnow()),
            )
            .order_by(StaffToken.created_at.desc(), StaffToken.id.desc())
        )
    )


def cancel_invitation(
    session: DbSession, *, workspace_id: int, token_id: int, now: datetime | None = None
) -> None:
    token = session.get(StaffToken, token_id)
    if token is None or token.workspace_id != workspace_id or token.kind != "invitation":
        raise NotFound("No such invitation in this workspace.")
    if token.used_at is None:
        token.used_at = now or utcnow()
    session.flush()
