"""advocacy: advocacy and two-sided referral programs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event

from advocacy.config import is_sqlite, settings_from_environ


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: settings from the environment, then ``config`` on top."""
    app = Flask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(settings_from_environ(instance))
    if config:
        app.config.from_mapping(config)
    _configure_database(app)
    _configure_api(app)
    _configure_rate_limits(app)

    from advocacy import cli, errors, observability
    from advocacy.api import register_api

    observability.init_app(app)
    errors.register_error_handlers(app)
    register_api(app)
    cli.register(app)
    return app


def _configure_database(app: Flask) -> None:
    from advocacy import models  # noqa: F401  (every table in the metadata)
    from advocacy.extensions import db, migrate

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options: dict[str, Any] = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if is_sqlite(uri):
        options.setdefault("connect_args", {"timeout": 15, "check_same_thread": False})
    else:
        # No server-side prepared statements: a generic plan made while a table was still
        # small (early in a bulk import) would keep seq-scanning it, and PgBouncer in
        # transaction mode cannot carry them anyway.
        options.setdefault("connect_args", {"prepare_threshold": None})
        options.setdefault("pool_pre_ping", True)
        options.setdefault("pool_size", 10)
        options.setdefault("max_overflow", 10)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    app.config.setdefault("SQLALCHEMY_TRACK_MODIFICATIONS", False)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    if is_sqlite(uri):
        with app.app_context():
            _tune_sqlite(db.engine)


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

    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
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
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/",
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
