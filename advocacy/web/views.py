"""``/r/<token>`` (follow a link) and ``/i/<token>`` (the invitation page): public, no API key.

They answer in HTML only, never JSON and never a stack trace, in the visitor's language.
Both share one per-IP rate limit, and a stricter one counting only unknown tokens, so a
client guessing tokens is stopped long before a crowd behind one NAT is.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from advocacy.extensions import db
from advocacy.links import clicks
from advocacy.links.cache import LinkCache
from advocacy.types import utcnow
from advocacy.web import messages
from advocacy.web.clickpath import (  # noqa: F401  (the names tests and ops look up)
    ATTRIBUTION_COOKIE,
    CACHE_REFRESHER,
    CLICK_OUTCOME,
    CLICK_RECORDER,
    LINK_CACHE,
    VISITOR_COOKIE,
    link_settings,
    public_limits,
)
from advocacy.web.ratelimits import Exceeded
from advocacy.workspaces.settings import get_workspace_settings

log = logging.getLogger("advocacy.web")

blp = Blueprint("web", __name__)

_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Vary": "Accept-Language",
}


@blp.before_request
def _count_invitation() -> Response | None:
    """The invitation page shares the click path's per-IP budgets (``/r/`` counts its own)."""
    if request.endpoint != "web.invitation":
        return None
    config = current_app.config
    exceeded = public_limits(current_app).hit(
        request.remote_addr or "", config["CLICK_RATE_LIMIT"], config["INVALID_LINK_RATE_LIMIT"]
    )
    return _rate_limited(exceeded) if exceeded is not None else None


@blp.after_request
def _count_unknown_invitation(response: Response) -> Response:
    if request.endpoint == "web.invitation" and response.status_code == 404:
        limits = public_limits(current_app)
        limits.count_unknown(
            request.remote_addr or "", current_app.config["INVALID_LINK_RATE_LIMIT"]
        )
    return response


def forget_cached_links(link_ids: Iterable[int]) -> None:
    """Make this process's click path read these links again (after revoking them)."""
    cache: LinkCache | None = current_app.extensions.get(LINK_CACHE)
    if cache is not None:
        cache.forget(link_ids)


@blp.get("/r/<token>")
def follow(token: str) -> Response:
    """Follow a referral link: the friendly page when it may not be followed.

    The redirect itself is answered before Flask by ``advocacy.web.clickpath``, which
    hands over only what it refused (or the rate limit it found spent).
    """
    outcome = request.environ.get(CLICK_OUTCOME)
    if isinstance(outcome, Exceeded):
        return _rate_limited(outcome)
    if not isinstance(outcome, clicks.Refused):  # the app served without its click path
        outcome = clicks.Refused("unknown", 404)
    return _refusal_page(outcome)


@blp.get("/i/<token>")
def invitation(token: str) -> Response:
    """The invitation page: who invited you, both offers, the disclosure, one call to action."""
    found = clicks.read_invitation(
        db.session, token=token, settings=link_settings(current_app.config), now=utcnow()
    )
    if isinstance(found, clicks.Refused):
        return _refusal_page(found)
    campaign = found.campaign
    language = _language(campaign.translations)
    body = render_template(
        "web/invitation.html",
        lang=language,
        page=messages.invitation_texts(campaign, found.inviter_first_name, language),
        follow_url=url_for("web.follow", token=found.token),
        brand=get_workspace_settings(db.session, workspace_id=campaign.workspace_id),
        workspace_id=campaign.workspace_id,
    )
    return _page(body, 200)


def _language(translations: Any) -> str:
    return (
        request.accept_languages.best_match(
            messages.languages(translations), default=messages.DEFAULT_LANGUAGE
        )
        or messages.DEFAULT_LANGUAGE
    )


def _page(body: str, status: int, headers: dict[str, str] | None = None) -> Response:
    response = current_app.response_class(body, status=status, mimetype="text/html")
    response.headers.update(_PAGE_HEADERS)
    response.headers.update(headers or {})
    return response


def _friendly(
    reason: str,
    status: int,
    *,
    fallback_url: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    language = _language(None)
    words = messages.texts(language)
    body = render_template(
        "web/unavailable.html",
        lang=language,
        title=words[f"{reason}_title"],
        message=words[f"{reason}_body"],
        fallback_url=fallback_url,
        fallback_label=words["fallback"],
    )
    return _page(body, status, headers)


def _refusal_page(refused: clicks.Refused) -> Response:
    return _friendly(refused.reason, refused.status, fallback_url=refused.fallback_url)


def _rate_limited(exceeded: Exceeded) -> Response:
    return _friendly("rate_limited", 429, headers={"Retry-After": str(exceeded.retry_after)})


@blp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    return _friendly("unknown" if status < 500 else "error", status)


@blp.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    log.exception("unhandled error on a public page")
    with contextlib.suppress(Exception):  # the database may be what failed
        db.session.rollback()
    return _friendly("error", 500)
