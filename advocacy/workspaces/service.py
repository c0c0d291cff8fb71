"""Creating workspaces, issuing, checking and revoking API keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import bindparam, select

from advocacy.errors import NotFound, Unprocessable, found
from advocacy.statements import run
from advocacy.types import DbSession, utcnow
from advocacy.workspaces.models import ApiKey, Workspace

KEY_PREFIX = "adv_"
# "rewards": the review queue (list, approve, reject, issue), apart from "campaigns" so a
# reviewer need not be able to change campaigns (keys that had "campaigns" were given it).
SCOPES = ("read", "write", "campaigns", "rewards", "conversions", "admin")
MAX_NAME_LENGTH = 200  # workspaces.name and api_keys.name are VARCHAR(200)


@dataclass(frozen=True)
class IssuedKey:
    """A key as issued: the secret is only ever available here, once."""

    key: ApiKey
    secret: str


class Actor(NamedTuple):
    """Who acted, as audit trails record it: an API key, a staff member, or neither (the
    service itself)."""

    api_key_id: int | None
    staff_user_id: int | None = None


@dataclass(frozen=True)
class Principal:
    """Who is calling (an API key or a staff member) and the workspace every query is scoped to."""

    api_key_id: int | None
    workspace_id: int
    scopes: frozenset[str]
    staff_user_id: int | None = None

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_workspace(session: DbSession, *, name: str) -> Workspace:
    name = name.strip()
    if not name:
        raise Unprocessable("A workspace needs a name.", errors={"name": ["Must not be empty."]})
    if len(name) > MAX_NAME_LENGTH:
        raise Unprocessable(
            f"A workspace name has at most {MAX_NAME_LENGTH} characters.",
            errors={"name": [f"Must be at most {MAX_NAME_LENGTH} characters."]},
        )
    workspace = Workspace(name=name)
    session.add(workspace)
    session.flush()
    return workspace


def get_workspace(session: DbSession, *, workspace_id: int) -> Workspace:
    return found(session.get(Workspace, workspace_id), f"No workspace {workspace_id}.")


def create_api_key(
    session: DbSession, *, workspace_id: int, name: str, scopes: list[str] | tuple[str, ...]
) -> IssuedKey:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise Unprocessable(
            "Unknown or missing scopes.",
            errors={
                "scopes": [f"Choose from {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}."]
            },
        )
    if len(name) > MAX_NAME_LENGTH:
        raise Unprocessable(
            f"A key name has at most {MAX_NAME_LENGTH} characters.",
            errors={"name": [f"Must be at most {MAX_NAME_LENGTH} characters."]},
        )
    get_workspace(session, workspace_id=workspace_id)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        workspace_id=workspace_id,
        name=name,
        prefix=secret[:12],
        key_hash=hash_key(secret),
        scopes=sorted(set(scopes)),
    )
    session.add(key)
    session.flush()
    return IssuedKey(key=key, secret=secret)


def list_api_keys(session: DbSession, *, workspace_id: int | None = None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id)
    if workspace_id is not None:
        query = query.where(ApiKey.workspace_id == workspace_id)
    return list(session.scalars(query))


def revoke_api_key(session: DbSession, *, key_id: int, workspace_id: int | None = None) -> ApiKey:
    """Revoke a key (of ``workspace_id`` only, when given: another's is a 404)."""
    key = session.get(ApiKey, key_id)
    if key is None or (workspace_id is not None and key.workspace_id != workspace_id):
        raise NotFound(f"No API key {key_id}.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    session.flush()
    return key


# Built once: every API request runs it.
_AUTHENTICATE = select(ApiKey.id, ApiKey.workspace_id, ApiKey.scopes).where(
    ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None)
)


def authenticate(session: DbSession, *, secret: str) -> Principal | None:
    """The principal for a presented key, or None for an unknown or revoked one."""
    if not secret.startswith(KEY_PREFIX) or len(secret) > 100:
        return None
    row = run(session, _AUTHENTICATE, {"key_hash": hash_key(secret)}).first()
    if row is None:
        return None
    return Principal(api_key_id=row.id, workspace_id=row.workspace_id, scopes=frozenset(row.scopes))
