"""``/r/<token>`` (follow a link) and ``/i/<token>`` (the invitation page): public, no API key.

They answer in HTML only, never JSON and never a stack trace, in the visitor's language.
Both share one per-IP rate limit, and a stricter one counting only unknown tokens, so a
client guessing tokens is stopped long before a crowd behind one NAT is.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException

from advocacy.extensions import db, limiter
from advocacy.links import clicks
from advocacy.links.cache import CacheRefresher, LinkCache
from advocacy.links.recorder import ClickRecorder
from advocacy.types import utcnow
from advocacy.web import messages
from advocacy.workspaces.settings import get_workspace_settings

VISITOR_COOKIE = "adv_vid"
ATTRIBUTION_COOKIE = "adv_ref"
VISITOR_COOKIE_MAX_AGE = 400 * 86400  # the longest lifetime browsers grant a cookie
LIMIT_SCOPE = "public-links"
UNKNOWN_LIMIT_SCOPE = LIMIT_SCOPE + "-unknown"
LINK_CACHE = "advocacy.link_cache"
CLICK_RECORDER = "advocacy.click_recorder"
CACHE_REFRESHER = "advocacy.link_cache_refresher"

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


def _click_limit() -> str:
    return str(current_app.config["CLICK_RATE_LIMIT"])


def _invalid_limit() -> str:
    return str(current_app.config["INVALID_LINK_RATE_LIMIT"])


def _not_found(response: Response) -> bool:
    return response.status_code == 404


# Limits of the whole blueprint: checked once, in Flask-Limiter's before-request hook
# (a decorated view would be checked there and again in its decorator).
limiter.shared_limit(_click_limit, scope=LIMIT_SCOPE)(blp)
limiter.shared_limit(_invalid_limit, scope=UNKNOWN_LIMIT_SCOPE, deduct_when=_not_found)(blp)


def _link_cache() -> LinkCache | None:
    """This process's cache of link states (LINK_CACHE_SECONDS; 0 is off)."""
    seconds = current_app.config["LINK_CACHE_SECONDS"]
    if not seconds:
        return None
    cache: LinkCache | None = current_app.extensions.get(LINK_CACHE)
    if cache is None or cache.seconds != seconds:
        cache = current_app.extensions[LINK_CACHE] = LinkCache(seconds)
    return cache


def forget_cached_links(link_ids: Iterable[int]) -> None:
    """Make this process's click path read these links again (after revoking them)."""
    cache: LinkCache | None = current_app.extensions.get(LINK_CACHE)
    if cache is not None:
        cache.forget(link_ids)


def _keep_fresh(cache: LinkCache | None, engine: Engine) -> None:
    """Have this process's thread read the cache's busy links again before they expire."""
    if cache is None:
        return
    refresher: CacheRefresher | None = current_app.extensions.get(CACHE_REFRESHER)
    if refresher is None or refresher.cache is not cache:
        refresher = current_app.extensions[CACHE_REFRESHER] = CacheRefresher(
            cache, functools.partial(clicks.read_link_states, engine)
        )
    refresher.ensure_running()


def _settings() -> clicks.LinkSettings:
    config = current_app.config
    return clicks.LinkSettings(
        signing_keys=config["REFERRAL_SIGNING_KEYS"],
        max_age_days=config["LINK_MAX_AGE_DAYS"],
        ip_key=config["SECRET_KEY"].encode(),
    )


def _recorder() -> ClickRecorder | None:
    """This process's click recorder, when clicks are written behind (CLICK_FLUSH_MS > 0,
    PostgreSQL, an app bound to its own engine)."""
    seconds = current_app.config["CLICK_FLUSH_MS"] / 1000
    bind = db.engine
    if not seconds or not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
        return None
    recorder: ClickRecorder | None = current_app.extensions.get(CLICK_RECORDER)
    if recorder is None or recorder.engine is not bind:
        recorder = current_app.extensions[CLICK_RECORDER] = ClickRecorder(
            bind, flush_seconds=seconds
        )
    return recorder


@contextlib.contextmanager
def _click_store(cache: LinkCache | None) -> Iterator[clicks.ClickStore]:
    """Where this click is read and recorded, in the request's one transaction.

    Written behind (see ``_recorder``): reads take a pooled connection only when needed,
    the click is queued, and a thread keeps the link cache fresh. Inline on PostgreSQL:
    an autocommit connection, so the click's INSERT is a transaction of its own, sent
    without BEGIN before and COMMIT after (one round trip instead of three). SQLite
    keeps a transaction, committed when the block ends: its BEGIN IMMEDIATE serialises
    writers. An app bound to a connection with a transaction already open (as the test
    suite binds it, to roll every test back) has the click join that through the session.
    """
    bind = db.engine
    recorder = _recorder()
    if recorder is not None:
        _keep_fresh(cache, bind)
        yield clicks.BufferedStore(bind, recorder)
    elif not isinstance(bind, Engine):
        yield clicks.InlineStore(db.session.connection())
        db.session.commit()
    elif bind.dialect.name == "postgresql":
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            yield clicks.InlineStore(connection)
    else:
        with bind.begin() as connection:
            yield clicks.InlineStore(connection)


def _secure_cookies() -> bool:
    return current_app.config.get("ADVOCACY_ENV") != "development"


@blp.get("/r/<token>")
def follow(token: str) -> Response:
    """Follow a referral link: record the click, set the cookies, redirect to the landing page."""
    settings = _settings()
    link_id = clicks.verify_token(token, settings)  # before any database work
    if isinstance(link_id, clicks.Refused):
        return _refusal_page(link_id)
    cache = _link_cache()
    with _click_store(cache) as store:
        outcome = clicks.follow_link(
            store,
            link_id=link_id,
            token=token,
            visit=clicks.Visit(
                visitor_id=request.cookies.get(VISITOR_COOKIE),
                attribution=request.cookies.get(ATTRIBUTION_COOKIE),
                ip=request.remote_addr or "",
                user_agent=request.headers.get("User-Agent"),
            ),
            settings=settings,
            now=utcnow(),
            cache=cache,
        )
    if isinstance(outcome, clicks.Refused):
        return _refusal_page(outcome)
    response = current_app.response_class(status=302)
    response.headers["Location"] = outcome.location
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    secure = _secure_cookies()
    response.set_cookie(
        VISITOR_COOKIE,
        outcome.visitor_id,
        max_age=VISITOR_COOKIE_MAX_AGE,
        httponly=True,
        secure=secure,
        samesite="Lax",
    )
    response.set_cookie(
        ATTRIBUTION_COOKIE,
        outcome.attribution,
        max_age=outcome.attribution_max_age,
        httponly=True,
        secure=secure,
        samesite="Lax",
    )
    return response


@blp.get("/i/<token>")
def invitation(token: str) -> Response:
    """The invitation page: who invited you, both offers, the disclosure, one call to action."""
    found = clicks.read_invitation(db.session, token=token, settings=_settings(), now=utcnow())
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


@blp.errorhandler(429)
def _rate_limited(error: HTTPException) -> Response:
    headers = {}
    current = limiter.current_limit
    if current is not None:
        headers["Retry-After"] = str(max(1, int(current.reset_at - time.time())))
    return _friendly("rate_limited", 429, headers=headers)


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
