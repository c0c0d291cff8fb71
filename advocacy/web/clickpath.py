"""``GET /r/<token>`` served by a lean WSGI handler in front of the Flask app.

The successful redirect is the service's hottest path, and most of a Flask request's cost
is Flask's (request context, URL matching, session, response object, hooks), not the
click's. ``ClickPath`` wraps the app's ``wsgi_app``: requests under ``/r/`` are decided
here without a Flask request context; everything else (and every refusal page, which
needs templates and the visitor's language) goes to Flask unchanged. It does what the
Flask view did: token verification before any database work, the per-process link cache
and its refresher, clicks written behind in batches (or inline where they must be), both
cookies with their flags, the rate limits (``advocacy.web.ratelimits``), the JSON
access-log line and the Prometheus histogram.

``HEAD`` checks the link and answers the same redirect without recording a click or
setting cookies: link previews (chat apps unfurling a shared URL) are not visits.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy.engine import Engine
from werkzeug.http import dump_cookie, http_date, parse_cookie

from advocacy.extensions import db
from advocacy.links import clicks
from advocacy.links.cache import CacheRefresher, LinkCache
from advocacy.links.recorder import ClickRecorder
from advocacy.observability import (
    LATENCY,
    REQUEST_ID_HEADER,
    access_log,
    new_request_id,
    write_access_line,
)
from advocacy.types import utcnow
from advocacy.web.ratelimits import Exceeded, PublicLimits

VISITOR_COOKIE = "adv_vid"
ATTRIBUTION_COOKIE = "adv_ref"
VISITOR_COOKIE_MAX_AGE = 400 * 86400  # the longest lifetime browsers grant a cookie
ROUTE = "/r/<token>"
PREFIX = "/r/"
# What the handler decided, for the Flask view that renders the refusal page.
CLICK_OUTCOME = "advocacy.click_outcome"
LINK_CACHE = "advocacy.link_cache"
CLICK_RECORDER = "advocacy.click_recorder"
CACHE_REFRESHER = "advocacy.link_cache_refresher"
PUBLIC_LIMITS = "advocacy.public_limits"

log = logging.getLogger("advocacy.web")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def public_limits(app: Flask) -> PublicLimits:
    """The app's rate limits of the public pages (made once, by ``init_app``)."""
    limits: PublicLimits = app.extensions[PUBLIC_LIMITS]
    return limits


def init_app(app: Flask) -> None:
    """Put the click path in front of the app's WSGI callable."""
    app.extensions[PUBLIC_LIMITS] = PublicLimits(app.config.get("REDIS_URL"))
    app.wsgi_app = ClickPath(app, app.wsgi_app)  # type: ignore[method-assign]


def link_settings(config: Any) -> clicks.LinkSettings:
    return clicks.LinkSettings(
        signing_keys=config["REFERRAL_SIGNING_KEYS"],
        max_age_days=config["LINK_MAX_AGE_DAYS"],
        ip_key=config["SECRET_KEY"].encode(),
    )


def link_cache(app: Flask) -> LinkCache | None:
    """This process's cache of link states (LINK_CACHE_SECONDS; 0 is off)."""
    seconds = app.config["LINK_CACHE_SECONDS"]
    if not seconds:
        return None
    cache: LinkCache | None = app.extensions.get(LINK_CACHE)
    if cache is None or cache.seconds != seconds:
        cache = app.extensions[LINK_CACHE] = LinkCache(
            seconds, max_stale=app.config["LINK_STALE_SECONDS"]
        )
    return cache


def recorder_for(app: Flask, bind: Any) -> ClickRecorder | None:
    """This process's click recorder, when clicks are written behind (CLICK_FLUSH_MS > 0,
    PostgreSQL, an app bound to its own engine)."""
    seconds = app.config["CLICK_FLUSH_MS"] / 1000
    if not seconds or not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
        return None
    recorder: ClickRecorder | None = app.extensions.get(CLICK_RECORDER)
    if recorder is None or recorder.engine is not bind or recorder.flush_seconds != seconds:
        recorder = app.extensions[CLICK_RECORDER] = ClickRecorder(
            bind,
            flush_seconds=seconds,
            reserve_seconds=app.config["CLICK_ID_RESERVE_SECONDS"],
        )
    return recorder


def keep_fresh(app: Flask, cache: LinkCache | None, engine: Engine) -> None:
    """Have this process's thread read the cache's busy links again before they expire."""
    if cache is None:
        return
    refresher: CacheRefresher | None = app.extensions.get(CACHE_REFRESHER)
    if refresher is None or refresher.cache is not cache:
        refresher = app.extensions[CACHE_REFRESHER] = CacheRefresher(
            cache, lambda link_ids: clicks.read_link_states(engine, link_ids, cache)
        )
    refresher.ensure_running()


@contextlib.contextmanager
def click_store(app: Flask, cache: LinkCache | None) -> Iterator[clicks.ClickStore]:
    """Where a click is read and recorded, inside an app context.

    Written behind (see ``recorder_for``): reads take a pooled connection only when
    needed, the click is queued, and a thread keeps the link cache fresh. Inline on
    PostgreSQL: an autocommit connection, so the click's INSERT is a transaction of its
    own (one round trip instead of three). SQLite keeps a transaction, committed when the
    block ends: its BEGIN IMMEDIATE serialises writers. An app bound to a connection with
    a transaction already open (as the test suite binds it, to roll every test back) has
    the click join that through the session.
    """
    bind = db.engine
    recorder = recorder_for(app, bind)
    if recorder is not None:
        keep_fresh(app, cache, bind)
        yield clicks.BufferedStore(bind, recorder)
    elif not isinstance(bind, Engine):
        try:
            yield clicks.InlineStore(db.session.connection())
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
    elif bind.dialect.name == "postgresql":
        with clicks.reading(bind) as connection:
            yield clicks.InlineStore(connection)
    else:
        with bind.begin() as connection:
            yield clicks.InlineStore(connection)


class ClickPath:
    """WSGI middleware: ``/r/<token>`` here, everything else to ``wsgi_app`` (Flask)."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        self.app = app
        self.config = app.config
        self.wsgi_app = wsgi_app
        self._latency = app.extensions[LATENCY]
        self._observers: dict[tuple[str, int], Any] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if path[:3] != PREFIX or method not in ("GET", "HEAD") or "/" in path[3:] or not path[3:]:
            return self.wsgi_app(environ, start_response)  # Flask: its 404 or 405
        return self.follow(environ, start_response, path[3:], method == "HEAD")

    def follow(
        self, environ: dict[str, Any], start_response: StartResponse, token: str, head: bool
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = new_request_id(incoming)
        environ["advocacy.started"] = started
        environ["advocacy.request_id"] = request_id
        config = self.config
        ip = environ.get("REMOTE_ADDR") or ""
        limits: PublicLimits = self.app.extensions[PUBLIC_LIMITS]
        outcome: Any = limits.hit(ip, config["CLICK_RATE_LIMIT"], config["INVALID_LINK_RATE_LIMIT"])
        if outcome is None:
            try:
                outcome = self._decide(environ, token, ip, head)
            except Exception:
                log.exception("unhandled error on a public page")
                outcome = clicks.Refused("error", 500)
            if isinstance(outcome, clicks.Refused) and outcome.status == 404:
                limits.count_unknown(ip, config["INVALID_LINK_RATE_LIMIT"])
        if isinstance(outcome, (clicks.Refused, Exceeded)):
            environ[CLICK_OUTCOME] = outcome
            return self.wsgi_app(environ, start_response)  # the friendly page
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", "0"),
            ("Location", outcome[0]),
            ("Cache-Control", "no-store"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"),
            *outcome[1],
            (REQUEST_ID_HEADER, request_id),
        ]
        start_response("302 FOUND", headers)
        self._log(environ, "HEAD" if head else "GET", 302, started, request_id)
        return []

    def _decide(
        self, environ: dict[str, Any], token: str, ip: str, head: bool
    ) -> tuple[str, list[tuple[str, str]]] | clicks.Refused:
        """Where to send the visitor and the cookies to set, or the refusal."""
        config = self.config
        settings = link_settings(config)
        link_id = clicks.verify_token(token, settings)  # before any database work
        if isinstance(link_id, clicks.Refused):
            return link_id
        app = self.app
        cache = link_cache(app)
        recorder: ClickRecorder | None = app.extensions.get(CLICK_RECORDER)
        if recorder is not None and recorder.flush_seconds == config["CLICK_FLUSH_MS"] / 1000:
            # Written behind, as in production: no app context, no session.
            keep_fresh(app, cache, recorder.engine)
            store = clicks.BufferedStore(recorder.engine, recorder)
            return self._follow(store, environ, token, link_id, ip, head, settings, cache)
        in_app = has_app_context() and current_app._get_current_object() is app  # type: ignore[attr-defined]
        with contextlib.nullcontext() if in_app else app.app_context():
            with click_store(app, cache) as inline:
                return self._follow(inline, environ, token, link_id, ip, head, settings, cache)

    def _follow(
        self,
        store: clicks.ClickStore,
        environ: dict[str, Any],
        token: str,
        link_id: int,
        ip: str,
        head: bool,
        settings: clicks.LinkSettings,
        cache: LinkCache | None,
    ) -> tuple[str, list[tuple[str, str]]] | clicks.Refused:
        now = utcnow()
        if head:  # a preview, not a visit: the link is checked, nothing is recorded
            state = clicks.check_link(store, link_id, token, now, cache)
            if isinstance(state, clicks.Refused):
                return state
            return clicks.landing_location(state, token), []
        raw_cookies = environ.get("HTTP_COOKIE")
        cookies = parse_cookie(raw_cookies) if raw_cookies else {}
        outcome = clicks.follow_link(
            store,
            link_id=link_id,
            token=token,
            visit=clicks.Visit(
                visitor_id=cookies.get(VISITOR_COOKIE),
                attribution=cookies.get(ATTRIBUTION_COOKIE),
                ip=ip,
                user_agent=environ.get("HTTP_USER_AGENT"),
            ),
            settings=settings,
            now=now,
            cache=cache,
        )
        if isinstance(outcome, clicks.Refused):
            return outcome
        secure = self.config.get("ADVOCACY_ENV") != "development"
        return outcome.location, [
            (
                "Set-Cookie",
                _cookie(VISITOR_COOKIE, outcome.visitor_id, VISITOR_COOKIE_MAX_AGE, secure),
            ),
            (
                "Set-Cookie",
                _cookie(
                    ATTRIBUTION_COOKIE, outcome.attribution, outcome.attribution_max_age, secure
                ),
            ),
        ]

    def _log(
        self, environ: dict[str, Any], method: str, status: int, started: float, request_id: str
    ) -> None:
        """The Prometheus observation and the JSON access line Flask's hooks write."""
        duration = time.perf_counter() - started
        observer = self._observers.get((method, status))
        if observer is None:
            observer = self._observers[(method, status)] = self._latency.labels(
                method, ROUTE, status
            )
        observer.observe(duration)
        if access_log.isEnabledFor(logging.INFO):
            write_access_line(
                request_id,
                method,
                ROUTE,
                environ.get("PATH_INFO") or "",
                status,
                round(duration * 1000, 2),
            )


def _cookie(name: str, value: str, max_age: int, secure: bool) -> str:
    """A first-party cookie as Flask's ``set_cookie`` writes it: HttpOnly, SameSite=Lax.

    Written by hand (Werkzeug's ``dump_cookie`` formats the expiry date anew for every
    cookie: a twentieth of the click): the values are ids and signed tokens, all of
    them cookie-safe characters, so nothing needs quoting.
    """
    if not _COOKIE_SAFE.match(value):  # never for our values; dump_cookie quotes
        return dump_cookie(
            name, value, max_age=max_age, httponly=True, secure=secure, samesite="Lax", path="/"
        )
    flags = "Secure; HttpOnly" if secure else "HttpOnly"
    expires = _expires(int(time.time()) + max_age)
    return f"{name}={value}; Expires={expires}; Max-Age={max_age}; {flags}; Path=/; SameSite=Lax"


_COOKIE_SAFE = re.compile(r"^[A-Za-z0-9_\-.]*\Z")


@functools.lru_cache(maxsize=64)
def _expires(at: int) -> str:
    return http_date(at)
