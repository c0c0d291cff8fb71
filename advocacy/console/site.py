"""The console's blueprint: access check, CSRF, security headers, error pages, page context."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, TooManyRequests

from advocacy.console import access
from advocacy.console.rendering import is_htmx
from advocacy.errors import DomainError
from advocacy.extensions import csrf, db

# No inline script or style anywhere; everything from our own origin. img data: for the
# small SVG icons browsers draw in form controls.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",  # pages show private data and one-time secrets
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def make_blueprint() -> Blueprint:
    """A fresh parent blueprint per app; each page module's blueprint is registered on it."""
    console = Blueprint("console", __name__)
    console.before_request(_before_request)
    console.after_request(_security_headers)
    console.context_processor(_page_context)
    console.register_error_handler(DomainError, _domain_error)
    console.register_error_handler(CSRFError, _csrf_error)
    console.register_error_handler(TooManyRequests, _too_many_requests)
    return console


def _before_request() -> None:
    access.check_view_declares_access()
    if request.method not in SAFE_METHODS:
        csrf.protect()  # the form field or, for htmx, the X-CSRFToken header


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _page_context() -> dict[str, Any]:
    # "console.settings.staff" -> "settings": the page (and nav link) a view belongs to.
    parts = (request.blueprint or "").split(".")
    section = parts[1] if len(parts) > 1 else ""
    if not current_user.is_authenticated:
        return {"section": section, "signed_in": False, "current_user": current_user}
    try:
        membership = access.current_membership()
    except DomainError:
        membership = None
    return {
        "section": section,
        "signed_in": True,
        "current_user": current_user,
        "membership": membership,
        "memberships": access.memberships(),
    }


def error_page(status: int, title: str, detail: str) -> ResponseReturnValue:
    if is_htmx():  # a fragment that says what happened, in place of the target
        body = render_template("console/error.html", status=status, title=title, detail=detail)
        return body, status, {"HX-Retarget": "#main", "HX-Reswap": "innerHTML"}
    return render_template("console/error.html", status=status, title=title, detail=detail), status


def _domain_error(error: DomainError) -> ResponseReturnValue:
    db.session.rollback()
    titles = {403: "Not allowed", 404: "Not found", 409: "Conflict"}
    return error_page(error.status, titles.get(error.status, "Cannot do that"), error.detail)


def _csrf_error(error: CSRFError) -> ResponseReturnValue:
    return error_page(
        400,
        "The form has expired",
        "The page was open too long or came from elsewhere. Go back, reload it and try again.",
    )


def _too_many_requests(error: HTTPException) -> ResponseReturnValue:
    return error_page(429, "Too many attempts", "Wait a few minutes, then try again.")


def unauthorized() -> ResponseReturnValue:
    """Signed out (or the session ended): to the sign-in page, then back here."""
    target = url_for("console.auth.login", next=request.full_path.rstrip("?"))
    if is_htmx():
        return "", 401, {"HX-Redirect": target}
    return redirect(target)
