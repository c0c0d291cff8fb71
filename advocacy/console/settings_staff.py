"""Settings, for owners: the workspace's staff, their roles, invitations and reset links."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from advocacy.console import accounts, tokens
from advocacy.console.access import current_workspace, require_scope
from advocacy.console.forms import InviteForm, RoleForm
from advocacy.console.settings_page import apply_form, back_to_settings, render_settings
from advocacy.errors import Unprocessable
from advocacy.extensions import db

bp = Blueprint("staff", __name__, url_prefix="/staff")


def _one_time_link(title: str, issued: tokens.IssuedToken, endpoint: str) -> dict[str, Any]:
    """What the Settings page shows once (this answer only), read before the commit."""
    link = url_for(endpoint, secret=issued.secret, _external=True)
    return {"title": title, "url": link, "expires_at": issued.token.expires_at}


def _show_link(one_time_link: dict[str, Any]) -> ResponseReturnValue:
    return render_settings(201, one_time_link=one_time_link)


def _back(message: str) -> ResponseReturnValue:
    db.session.commit()
    return back_to_settings(message, "staff")


@bp.route("/invite", methods=["POST"])
@require_scope("admin")
def invite() -> ResponseReturnValue:
    """Invite someone by email with a role; the link is shown once, to pass on."""

    def change(form: InviteForm) -> dict[str, Any]:
        issued = tokens.invite_staff(
            db.session,
            workspace_id=current_workspace().id,
            email=form.email.data or "",
            role=form.role.data or "",
            invited_by=current_user.id,
        )
        title = f"Invitation for {issued.token.email} ({issued.token.role})"
        return _one_time_link(title, issued, "console.invitations.accept")

    return apply_form("invite_form", InviteForm(formdata=request.form), change, _show_link)


@bp.route("/invitations/<int:token_id>/cancel", methods=["POST"])
@require_scope("admin")
def cancel_invitation(token_id: int) -> ResponseReturnValue:
    """Withdraw an invitation: its link stops working."""
    tokens.cancel_invitation(db.session, workspace_id=current_workspace().id, token_id=token_id)
    return _back("Invitation withdrawn.")


@bp.route("/<int:staff_user_id>/role", methods=["POST"])
@require_scope("admin")
def change_role(staff_user_id: int) -> ResponseReturnValue:
    """Give a staff member another role in this workspace."""
    form = RoleForm(formdata=request.form)
    if not form.validate():
        raise Unprocessable("Choose a role.", errors=form.errors)  # type: ignore[arg-type]
    accounts.set_role(
        db.session,
        staff_user_id=staff_user_id,
        workspace_id=current_workspace().id,
        role=form.role.data or "",
    )
    return _back("Role changed.")


@bp.route("/<int:staff_user_id>/remove", methods=["POST"])
@require_scope("admin")
def remove(staff_user_id: int) -> ResponseReturnValue:
    """Take a staff member out of this workspace (their account stays for the others)."""
    accounts.remove_membership(
        db.session, staff_user_id=staff_user_id, workspace_id=current_workspace().id
    )
    return _back("Removed from this workspace.")


@bp.route("/<int:staff_user_id>/reset", methods=["POST"])
@require_scope("admin")
def reset(staff_user_id: int) -> ResponseReturnValue:
    """A password reset link for a staff member, shown once."""
    issued = tokens.start_password_reset(
        db.session,
        staff_user_id=staff_user_id,
        started_by=current_user.id,
        workspace_id=current_workspace().id,
    )
    title = f"Password reset for {issued.token.email}"
    one_time_link = _one_time_link(title, issued, "console.invitations.reset")
    db.session.commit()
    return _show_link(one_time_link)
