"""advocacy: advocacy and two-sided referral programs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy import event, exc
from werkzeug.middleware.proxy_fix import ProxyFix

from advocacy.config import is_sqlite, settings_from_environ


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: settings from the environment, then ``config`` on top."""
    app = Flask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(settings_from_environ(instance))
    if config:
        app.config.from_mapping(config)
    app.session_interface = CookieSessions()
    _configure_database(app)
    _configure_api(app)
    _configure_rate_limits(app)

    from advocacy import cli, errors, observability
    from advocacy.api import register_api
    from advocacy.console import register_console
    from advocacy.web import clickpath

    observability.init_app(app)
    errors.register_error_handlers(app)
    register_api(app)
    register_console(app)
    cli.register(app)
    # In front of Flask: /r/<token> is answered without a request context; the proxy
    # fix wraps outside it, so the click path sees the client's address.
    clickpath.init_app(app)
    _trust_proxies(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Take the client's address and scheme from the last ``TRUSTED_PROXY_HOPS`` proxies.

    Behind nginx every request comes from nginx: without this the public pages' per-IP
    rate limit is one bucket for everyone and clicks hash the proxy's address. Only the
    values the trusted hops appended are believed (ProxyFix reads X-Forwarded-For from
    the right), so a client cannot choose its address by sending the header itself.
    Outermost, so every handler sees the client's address.
    """
    hops = int(app.config.get("TRUSTED_PROXY_HOPS") or 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, without building a signer for requests with no cookie.

    Only the staff console uses sessions (the API authenticates by key, the public pages
    are stateless), but Flask opens one per request, and building its signer is a tenth of
    a bare request's time. A request without the cookie gets the same empty session.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        # The public pages (/r/, /i/) never read the session, but Flask-Login's after-request
        # hook does on every request: Flask would then add "Vary: Cookie" and split every
        # cache's copy of a public page by cookie.
        if request.blueprint == "web" and not session.modified:
            return
        super().save_session(app, session, response)


def _configure_database(app: Flask) -> None:
    from advocacy import models  # noqa: F401  (every table in the metadata)
    from advocacy.extensions import db, migrate

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options: dict[str, Any] = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    ping_idle = False
    if is_sqlite(uri):
        options.setdefault("connect_args", {"timeout": 15, "check_same_thread": False})
    else:
        # No server-side prepared statements: a generic plan made while a table was still
        # small (early in a bulk import) would keep seq-scanning it, and PgBouncer in
        # transaction mode cannot carry them anyway.
        options.setdefault("connect_args", {"prepare_threshold": None})
        # A server that accepts and never answers must not hold a thread (or /readyz) for
        # the operating system's TCP timeout: a couple of minutes.
        options["connect_args"] = {
            "connect_timeout": DATABASE_CONNECT_TIMEOUT_SECONDS,
            **options["connect_args"],
        }
        ping_idle = "pool_pre_ping" not in options  # else as configured
        options.setdefault("pool_size", 10)
        options.setdefault("max_overflow", 10)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    app.config.setdefault("SQLALCHEMY_TRACK_MODIFICATIONS", False)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    if is_sqlite(uri):
        with app.app_context():
            _tune_sqlite(db.engine)
    elif ping_idle:
        with app.app_context():
            _ping_idle_connections(db.engine)


PING_AFTER_IDLE_SECONDS = 0.5
DATABASE_CONNECT_TIMEOUT_SECONDS = 5
_LAST_USED = "advocacy.last_used"


def _ping_idle_connections(engine: Any) -> None:
    """``pool_pre_ping``, except for connections in use less than half a second ago.

    pool_pre_ping costs a round trip on every checkout, a third of the click path's
    database work. Like HikariCP's aliveBypassWindowMs (500 ms by default), a connection
    back in the pool for less than PING_AFTER_IDLE_SECONDS is trusted; an older one is
    pinged first, and a failed ping invalidates the pool, as pool_pre_ping does. Under
    load connections come back within milliseconds and are never pinged; a disconnect
    found by a statement still invalidates the pool (SQLAlchemy's disconnect handling).
    """

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _stamp(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_LAST_USED, -1e9) < PING_AFTER_IDLE_SECONDS:
            return
        dialect = engine.dialect
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            raise exc.InvalidatePoolError()


def _tune_sqlite(engine: Any) -> None:
    """Make pysqlite transactional (savepoints, DDL) and SQLite safe for threads.

    pysqlite's own BEGIN handling breaks SAVEPOINT and transactional DDL, so we take
    over BEGIN, as the SQLAlchemy documentation describes. BEGIN IMMEDIATE takes the
    write lock up front: concurrent writers then queue on busy_timeout instead of
    failing with "database is locked" when a read transaction tries to upgrade.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _configure_rate_limits(app: Flask) -> None:
    from advocacy.extensions import limiter
    from advocacy.web.ratelimits import redis_options

    redis_url = app.config.get("REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "advocacy+memory://")
    if redis_url:
        # As the public pages' limits (advocacy/web/ratelimits.py): bounded waits, and
        # counting in memory while Redis does not answer.
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", redis_options())
        app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    # Set explicitly: the extension object is shared by every app in the process.
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)


def _configure_api(app: Flask) -> None:
    app.config.update(
        API_TITLE="advocacy",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="v1/openapi.json",
        # /api/docs is our own page over the vendored Swagger UI (advocacy/api/docs.py).
        API_SPEC_OPTIONS={
            "info": {
                "description": (
                    "Advocacy and two-sided referral programs. Authenticate with "
                    "`Authorization: Bearer <key>`; errors are application/problem+json."
                )
            },
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "adv_..."}
                }
            },
        },
    )
