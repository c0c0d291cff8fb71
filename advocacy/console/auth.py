"""Signing in and out, and switching workspace."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from advocacy.console import accounts
from advocacy.console.access import choose_workspace, public, require_scope
from advocacy.console.forms import SignInForm, SwitchWorkspaceForm
from advocacy.console.rendering import render_page
from advocacy.errors import NotFound
from advocacy.extensions import db, limiter

bp = Blueprint("auth", __name__)
WRONG = "Wrong email or password."


def sign_in_ip_limit() -> str:
    return str(current_app.config["STAFF_SIGN_IN_IP_LIMIT"])


def _account_limit() -> str:
    return str(current_app.config["STAFF_SIGN_IN_ACCOUNT_LIMIT"])


def _account_key() -> str:
    return "staff-sign-in:" + request.form.get("email", "").strip().lower()[:320]


def failed_attempt(response: BaseResponse) -> bool:
    """Only failed attempts use up the budget; a successful sign-in redirects."""
    return response.status_code != 302


def safe_next(target: str | None) -> str | None:
    """A path on this site to return to after sign-in, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(
    sign_in_ip_limit, methods=["POST"], deduct_when=failed_attempt, scope="staff-sign-in-ip"
)
@limiter.limit(
    _account_limit,
    methods=["POST"],
    key_func=_account_key,
    deduct_when=failed_attempt,
    scope="staff-sign-in-account",
)
def login() -> ResponseReturnValue:
    """The sign-in page."""
    form = SignInForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
        return render_page("console/login.html", form=form)
    if not form.validate():
        return render_page("console/login.html", form=form, status=400)
    user = accounts.authenticate_staff(
        db.session, email=form.email.data or "", password=form.password.data or ""
    )
    if user is None:
        db.session.rollback()
        return render_page("console/login.html", form=form, error=WRONG, status=401)
    # A new session at sign-in: nothing from before it (CSRF token, chosen workspace) survives.
    session.clear()
    accounts.start_session(db.session, user=user)
    db.session.commit()
    login_user(user)
    session.permanent = True
    return redirect(safe_next(form.next.data) or url_for("console.overview.index"))


@bp.route("/logout", methods=["POST"])
@public
def logout() -> ResponseReturnValue:
    """Sign out: the session ends on the server too, so a copied cookie is worthless."""
    if current_user.is_authenticated and current_user.session_token:
        accounts.end_session(db.session, token=current_user.session_token)
        db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("console.auth.login"))


@bp.route("/workspace", methods=["POST"])
@require_scope("read")
def switch_workspace() -> ResponseReturnValue:
    """Work in another of one's workspaces."""
    form = SwitchWorkspaceForm()
    if not form.validate() or not choose_workspace(form.workspace_id.data or 0):
        raise NotFound("You do not work in that workspace.")
    return redirect(url_for("console.overview.index"))
