"""Public pages reached by a one-time link: accept an invitation, reset a password.

A visitor needs no session: the link's token is the credential. A bad, used or expired
link shows a friendly 404 page. After either, the person signs in with the new password
(the sign-in renews the session as usual).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from advocacy.console import accounts, tokens
from advocacy.console.access import public
from advocacy.console.auth import failed_attempt, sign_in_ip_limit
from advocacy.console.forms import ExistingAccountForm, NewAccountForm, NewPasswordForm
from advocacy.console.rendering import form_with_errors, render_page
from advocacy.errors import Unprocessable
from advocacy.extensions import db, limiter
from advocacy.workspaces import settings as workspace_settings
from advocacy.workspaces.models import Workspace
from advocacy.workspaces.service import get_workspace

bp = Blueprint("invitations", __name__)


def _brand(workspace_id: int | None) -> workspace_settings.WorkspaceSettings | None:
    if workspace_id is None:
        return None
    workspace = db.session.get(Workspace, workspace_id)
    return workspace_settings.workspace_settings(workspace) if workspace else None


# Wrong passwords typed here (an existing account joining) count like failed sign-ins.
_limited = limiter.limit(
    sign_in_ip_limit, methods=["POST"], deduct_when=failed_attempt, scope="staff-links-ip"
)


def _link_page(
    template: str, context: dict[str, Any], act: Callable[[FlaskForm], None], done: str
) -> ResponseReturnValue:
    """A one-time link's page: the form (GET), or its post applied with ``act`` and
    committed, then on to sign-in saying ``done``; a refused post shows the form again."""
    form = context["form"]
    if request.method == "GET":
        return render_page(template, **context)
    if not form.validate():
        return render_page(template, status=400, **context)
    try:
        act(form)
    except Unprocessable as error:
        db.session.rollback()
        context["form"] = form_with_errors(form, error)
        return render_page(template, status=422, **context)
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("console.auth.login"))


@bp.route("/invitations/<secret>", methods=["GET", "POST"])
@public
@_limited
def accept(secret: str) -> ResponseReturnValue:
    """Accept an invitation: choose a password (or prove the one you have)."""
    token = tokens.find_token(db.session, kind="invitation", secret=secret)
    existing = accounts.find_staff(db.session, email=token.email) is not None
    form: ExistingAccountForm | NewAccountForm = (
        ExistingAccountForm() if existing else NewAccountForm()
    )
    context: dict[str, Any] = {
        "token": token,
        "existing": existing,
        "brand": _brand(token.workspace_id),
        "form": form,
    }

    def act(form: FlaskForm) -> None:
        tokens.accept_invitation(
            db.session,
            secret=secret,
            password=form.password.data or "",
            name=form.name.data if isinstance(form, NewAccountForm) else None,
        )

    return _link_page(
        "console/invitation.html", context, act, "Welcome! Sign in with your email and password."
    )


@bp.route("/reset/<secret>", methods=["GET", "POST"])
@public
@_limited
def reset(secret: str) -> ResponseReturnValue:
    """Choose a new password with a reset link."""
    token = tokens.find_token(db.session, kind="reset", secret=secret)
    context = {"token": token, "brand": _brand(token.workspace_id), "form": NewPasswordForm()}

    def act(form: FlaskForm) -> None:
        tokens.reset_password(db.session, secret=secret, password=form.password.data or "")

    return _link_page(
        "console/reset.html", context, act, "Password changed. Sign in with the new one."
    )


@bp.route("/brand/<int:workspace_id>.css")
@public
def brand_stylesheet(workspace_id: int) -> Response:
    """The workspace's brand colour as a stylesheet (no inline styles under the CSP)."""
    brand = workspace_settings.workspace_settings(
        get_workspace(db.session, workspace_id=workspace_id)
    )
    # The colour was checked to be #rrggbb when saved: nothing else can reach the CSS.
    body = f":root {{ --brand: {brand.brand_colour}; }}\n"
    return Response(body, mimetype="text/css", headers={"Cache-Control": "public, max-age=300"})
