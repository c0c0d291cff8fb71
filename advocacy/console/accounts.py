"""Staff accounts: passwords (Argon2id), sign-in sessions, memberships.

Plain service functions, as everywhere: they add and flush, raise domain errors, and
never commit (the view or CLI command owns the transaction).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select

from advocacy.config import STAFF_SESSION_HOURS
from advocacy.console.models import Membership, StaffSession, StaffUser
from advocacy.errors import Conflict, Unprocessable, found
from advocacy.types import DbSession, utcnow
from advocacy.workspaces.models import Workspace
from advocacy.workspaces.roles import ROLES
from advocacy.workspaces.service import get_workspace

# OWASP Password Storage Cheat Sheet, Argon2id: m = 19 MiB, t = 2, p = 1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
SESSION_LIFETIME = timedelta(hours=STAFF_SESSION_HOURS)
# Verified when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class StaffMembership:
    """A workspace a person works in, with their role there."""

    workspace_id: int
    workspace_name: str
    role: str


def token_hash(token: str) -> str:
    """Tokens carry 256 random bits: a fast hash is enough to keep them out of the database."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_staff_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise Unprocessable(
            "That is not an email address.", errors={"email": [str(error)]}
        ) from error


def check_password(password: str, *, field: str = "password") -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise Unprocessable(
            f"A password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.",
            errors={
                field: [
                    f"Use at least {MIN_PASSWORD_LENGTH} characters "
                    f"(at most {MAX_PASSWORD_LENGTH}); a few words make a good one."
                ]
            },
        )


def hash_password(password: str) -> str:
    check_password(password)
    return HASHER.hash(password)


def check_role(role: str) -> None:
    if role not in ROLES:
        raise Unprocessable(
            "Unknown role.", errors={"role": [f"Choose from {', '.join(ROLES)}; got {role!r}."]}
        )


def find_staff(session: DbSession, *, email: str) -> StaffUser | None:
    return session.scalars(
        select(StaffUser).where(StaffUser.email == email.strip().lower())
    ).one_or_none()


def get_staff(session: DbSession, *, staff_user_id: int) -> StaffUser:
    return found(session.get(StaffUser, staff_user_id), f"No staff member {staff_user_id}.")


def add_staff(
    session: DbSession,
    *,
    email: str,
    password: str,
    workspace_id: int,
    role: str,
    name: str | None = None,
) -> StaffUser:
    """A new person with a role in one workspace, or a new workspace for a known person."""
    check_role(role)
    email = normalise_staff_email(email)
    get_workspace(session, workspace_id=workspace_id)
    user = find_staff(session, email=email)
    if user is None:
        user = StaffUser(email=email, name=name, password_hash=hash_password(password))
        session.add(user)
        session.flush()
    add_membership(session, staff_user_id=user.id, workspace_id=workspace_id, role=role)
    return user


def add_membership(session: DbSession, *, staff_user_id: int, workspace_id: int, role: str) -> None:
    check_role(role)
    existing = session.scalars(
        select(Membership).where(
            Membership.staff_user_id == staff_user_id, Membership.workspace_id == workspace_id
        )
    ).one_or_none()
    if existing is not None:
        raise Conflict("This person already works in this workspace.")
    session.add(Membership(staff_user_id=staff_user_id, workspace_id=workspace_id, role=role))
    session.flush()


def set_role(session: DbSession, *, staff_user_id: int, workspace_id: int, role: str) -> None:
    check_role(role)
    membership = _membership(session, staff_user_id=staff_user_id, workspace_id=workspace_id)
    if membership.role == "owner" and role != "owner":
        _keep_an_owner(session, workspace_id, staff_user_id)
    membership.role = role
    session.flush()


def remove_membership(session: DbSession, *, staff_user_id: int, workspace_id: int) -> None:
    """Take a person out of a workspace; a workspace always keeps one owner."""
    membership = _membership(session, staff_user_id=staff_user_id, workspace_id=workspace_id)
    if membership.role == "owner":
        _keep_an_owner(session, workspace_id, staff_user_id)
    session.delete(membership)
    session.flush()


def _membership(session: DbSession, *, staff_user_id: int, workspace_id: int) -> Membership:
    membership = session.scalars(
        select(Membership).where(
            Membership.staff_user_id == staff_user_id, Membership.workspace_id == workspace_id
        )
    ).one_or_none()
    return found(membership, "No such staff member in this workspace.")


def _keep_an_owner(session: DbSession, workspace_id: int, leaving_id: int) -> None:
    others = session.scalars(
        select(Membership.id).where(
            Membership.workspace_id == workspace_id,
            Membership.role == "owner",
            Membership.staff_user_id != leaving_id,
        )
    ).first()
    if others is None:
        raise Conflict("A workspace keeps at least one owner: make someone else owner first.")


def list_memberships(session: DbSession, *, staff_user_id: int) -> list[StaffMembership]:
    rows = session.execute(
        select(Membership.workspace_id, Workspace.name, Membership.role)
        .join(Workspace, Workspace.id == Membership.workspace_id)
        .where(Membership.staff_user_id == staff_user_id)
        .order_by(Workspace.name, Workspace.id)
    )
    return [StaffMembership(row[0], row[1], row[2]) for row in rows]


def list_staff(session: DbSession, *, workspace_id: int) -> list[tuple[StaffUser, str]]:
    """The people of a workspace with their role, by email."""
    rows = session.execute(
        select(StaffUser, Membership.role)
        .join(Membership, Membership.staff_user_id == StaffUser.id)
        .where(Membership.workspace_id == workspace_id)
        .order_by(StaffUser.email)
    )
    return [(row[0], row[1]) for row in rows]


# --- signing in and out -----------------------------------------------------------


def authenticate_staff(session: DbSession, *, email: str, password: str) -> StaffUser | None:
    """The person with this email and password, or None (never saying which was wrong)."""
    user = find_staff(session, email=email)
    try:
        HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
        session.flush()
    return user


def start_session(session: DbSession, *, user: StaffUser, now: datetime | None = None) -> str:
    """A new sign-in: the token that names it (kept in the signed cookie, hashed here)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            staff_user_id=user.id,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    session.flush()
    user.session_token = token
    return token


def load_session(
    session: DbSession, *, token: str, now: datetime | None = None
) -> StaffUser | None:
    """The person signed in with this token, or None once it has ended or expired."""
    row = session.execute(
        select(StaffUser)
        .join(StaffSession, StaffSession.staff_user_id == StaffUser.id)
        .where(
            StaffSession.token_hash == token_hash(token),
            StaffSession.expires_at > (now or utcnow()),
        )
    ).scalar_one_or_none()
    if row is not None:
        row.session_token = token
    return row


def end_session(session: DbSession, *, token: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash(token)))


def end_all_sessions(session: DbSession, *, staff_user_id: int) -> None:
    session.execute(delete(StaffSession).where(StaffSession.staff_user_id == staff_user_id))


def set_password(session: DbSession, *, user: StaffUser, password: str) -> None:
    """A new password ends every session the person had."""
    user.password_hash = hash_password(password)
    end_all_sessions(session, staff_user_id=user.id)
    session.flush()
