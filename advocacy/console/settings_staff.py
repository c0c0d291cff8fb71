"""Settings, for owners: the workspace's staff, their roles, invitations and reset links."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from advocacy.console import accounts, tokens
from advocacy.console.access import current_workspace, require_scope
from advocacy.console.forms import InviteForm, RoleForm
from advocacy.console.rendering import form_with_errors
from advocacy.errors import DomainError, Unprocessable
from advocacy.extensions import db

bp = Blueprint("staff", __name__, url_prefix="/staff")


def _settings(status: int = 200, **overrides: object) -> ResponseReturnValue:
    from advocacy.console.settings import render_settings

    return render_settings(status, **overrides)


def _show_link(title: str, issued: tokens.IssuedToken, endpoint: str) -> ResponseReturnValue:
    """Commit, then show the one-time link on the Settings page (this answer only)."""
    link = url_for(endpoint, secret=issued.secret, _external=True)
    expires_at = issued.token.expires_at
    db.session.commit()
    return _settings(201, one_time_link={"title": title, "url": link, "expires_at": expires_at})


def _back(message: str) -> ResponseReturnValue:
    flash(message, "success")
    return redirect(url_for("console.settings.index") + "#staff")


@bp.route("/invite", methods=["POST"])
@require_scope("admin")
def invite() -> ResponseReturnValue:
    """Invite someone by email with a role; the link is shown once, to pass on."""
    form = InviteForm(formdata=request.form)
    if not form.validate():
        return _settings(400, invite_form=form)
    try:
        issued = tokens.invite_staff(
            db.session,
            workspace_id=current_workspace().id,
            email=form.email.data or "",
            role=form.role.data or "",
            invited_by=current_user.id,
        )
    except DomainError as error:
        db.session.rollback()
        return _settings(error.status, invite_form=form_with_errors(form, error))
    return _show_link(
        f"Invitation for {issued.token.email} ({issued.token.role})",
        issued,
        "console.invitations.accept",
    )


@bp.route("/invitations/<int:token_id>/cancel", methods=["POST"])
@require_scope("admin")
def cancel_invitation(token_id: int) -> ResponseReturnValue:
    """Withdraw an invitation: its link stops working."""
    tokens.cancel_invitation(db.session, workspace_id=current_workspace().id, token_id=token_id)
    db.session.commit()
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
    db.session.commit()
    return _back("Role changed.")


@bp.route("/<int:staff_user_id>/remove", methods=["POST"])
@require_scope("admin")
def remove(staff_user_id: int) -> ResponseReturnValue:
    """Take a staff member out of this workspace (their account stays for the others)."""
    accounts.remove_membership(
        db.session, staff_user_id=staff_user_id, workspace_id=current_workspace().id
    )
    db.session.commit()
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
    return _show_link(
        f"Password reset for {issued.token.email}", issued, "console.invitations.reset"
    )
