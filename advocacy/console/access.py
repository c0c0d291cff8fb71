"""Who is signed in, in which workspace, and what they may do: the helpers every page uses.

- ``@require_scope("campaigns")`` on a view: signed in, a member of the current workspace,
  and the role's scopes allow it (``Principal.allows``, the API's own rule); else the
  sign-in page (signed out) or a 403 page.
- ``@public`` on the few views open to everyone (sign-in, invitations, password reset).
  A console view with neither is refused: forgetting one fails closed.
- ``current_workspace()``, ``current_principal()``, ``current_role()`` within a view.
- ``staff_actor()``: the keyword arguments that record the staff member in the audit
  trail when passed to a service (``api_key_id=None, staff_user_id=...``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request, session
from flask_login import current_user

from advocacy.console import accounts
from advocacy.console.accounts import StaffMembership
from advocacy.errors import Forbidden
from advocacy.extensions import db, login_manager
from advocacy.workspaces.models import Workspace
from advocacy.workspaces.roles import staff_principal
from advocacy.workspaces.service import Principal

F = TypeVar("F", bound=Callable[..., Any])
WORKSPACE_KEY = "workspace_id"  # the chosen workspace, in the session cookie
PUBLIC = "console_public"
SCOPE = "console_scope"


def load_user(token: str) -> Any:
    """Flask-Login's user loader: the session must still exist in the database."""
    return accounts.load_session(db.session, token=token)


def public(view: F) -> F:
    """Open to signed-out visitors (sign-in, invitation and reset pages)."""
    setattr(view, PUBLIC, True)
    return view


def require_scope(scope: str) -> Callable[[F], F]:
    """Signed in, and the role in the current workspace allows ``scope``."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            principal = current_principal()
            g.principal = principal  # who is calling, for the access log (as for API keys)
            if not principal.allows(scope):
                raise Forbidden(
                    f"Your role in this workspace ({current_role()}) does not allow this."
                )
            return view(*args, **kwargs)

        setattr(wrapper, SCOPE, scope)
        return wrapper  # type: ignore[return-value]

    return decorator


def check_view_declares_access() -> None:
    """Fail closed: a console view must say who may use it."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and not (getattr(view, PUBLIC, False) or getattr(view, SCOPE, None)):
        raise RuntimeError(f"console view {request.endpoint} declares neither @public nor a scope")


def memberships() -> list[StaffMembership]:
    if "console_memberships" not in g:
        g.console_memberships = accounts.list_memberships(db.session, staff_user_id=current_user.id)
    return g.console_memberships  # type: ignore[no-any-return]


def current_membership() -> StaffMembership:
    """The workspace chosen in this session, else the person's first; 403 when none."""
    if "console_membership" in g:
        return g.console_membership  # type: ignore[no-any-return]
    mine = memberships()
    if not mine:
        raise Forbidden("You do not work in any workspace any more: ask an owner to invite you.")
    chosen = session.get(WORKSPACE_KEY)
    membership = next((m for m in mine if m.workspace_id == chosen), mine[0])
    g.console_membership = membership
    return membership


def current_principal() -> Principal:
    membership = current_membership()
    return staff_principal(
        staff_user_id=current_user.id, workspace_id=membership.workspace_id, role=membership.role
    )


def current_role() -> str:
    return current_membership().role


def current_workspace() -> Workspace:
    """The workspace every query of this request is scoped to."""
    workspace = db.session.get(Workspace, current_membership().workspace_id)
    assert workspace is not None  # a membership's foreign key
    return workspace


def choose_workspace(workspace_id: int) -> bool:
    """Switch to another of the person's workspaces; False when they are not a member."""
    if not any(m.workspace_id == workspace_id for m in memberships()):
        return False
    session[WORKSPACE_KEY] = workspace_id
    g.pop("console_membership", None)
    return True


def staff_actor() -> dict[str, int | None]:
    """Pass to a service as ``**staff_actor()`` so its audit trail names the person."""
    return {"api_key_id": None, "staff_user_id": current_user.id}
