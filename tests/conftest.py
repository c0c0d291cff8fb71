"""Fixtures: one app per session on a real database, one rolled-back transaction per test.

The database is SQLite in a temporary file, or PostgreSQL when DATABASE_URL
is set (CI runs the suite on both). The schema comes from the Alembic
migrations, never from create_all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from advocacy import create_app
from advocacy.extensions import db, limiter
from advocacy.web.clickpath import public_limits
from tests.factories import ApiClient, make_workspace

os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
os.environ.setdefault("REFERRAL_SIGNING_KEYS", "test-signing-key-0123456789abcdef")
os.environ["ADVOCACY_ENV"] = "test"


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def app_engines() -> MutableMapping[str | None, Any]:
    """This app's engines by bind key, as the live mapping Flask-SQLAlchemy binds from.

    ``db.engines`` is public API typed as a read-only Mapping; the session fixture relies
    on it being the very dict that ``db.engine`` and the session's ``get_bind`` read, so
    that putting a connection in it binds the app to that connection. That assumption is
    checked here and pinned by tests/integration/test_session_fixture.py: an upgrade of
    Flask-SQLAlchemy that breaks it fails there, loudly, in one place.
    """
    engines = db.engines
    assert isinstance(engines, MutableMapping) and engines is db.engines, (
        "Flask-SQLAlchemy's db.engines is no longer the live engine mapping: "
        "revisit the session fixture in tests/conftest.py"
    )
    return engines


@pytest.fixture
def session(app: Flask) -> Iterator[Any]:
    """A session inside an outer transaction that is rolled back after the test.

    The app's engine is swapped for one connection in a transaction; every session the
    app opens joins it with a SAVEPOINT, so views can commit as they do in production
    and the test still leaves nothing behind. Public API only: ``db.engines`` (see
    :func:`app_engines`) and ``scoped_session.configure``.
    """
    with app.app_context():
        engines = app_engines()
        engine = engines[None]
        connection = engine.connect()
        outer = connection.begin()
        db.session.remove()
        engines[None] = connection
        db.session.configure(join_transaction_mode="create_savepoint")
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session.configure(join_transaction_mode="conditional_savepoint")
            engines[None] = engine
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app: Flask, session: Any) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def cli(app: Flask, session: Any) -> Any:
    """Invoke a CLI command inside the test's rolled-back transaction: ``cli("staff", ...)``;
    ``input=`` feeds standard input."""
    runner = app.test_cli_runner()

    def invoke(*args: str, input: str | None = None) -> Any:
        return runner.invoke(args=list(args), input=input)

    return invoke


@pytest.fixture
def workspace(session: Any) -> Any:
    return make_workspace(session, "Acme")


@pytest.fixture
def api(client: FlaskClient, workspace: Any) -> ApiClient:
    """A client authenticated with an admin key of the ``workspace``."""
    return ApiClient(client, workspace.admin_key)


@pytest.fixture
def other_api(client: FlaskClient, session: Any) -> ApiClient:
    """A client of another workspace, to prove isolation."""
    return ApiClient(client, make_workspace(session, "Rival").admin_key)


def reset_rate_limits(app: Flask) -> Iterator[None]:
    """Untouched per-IP budgets before and after a test (the test client is 127.0.0.1).

    Made an autouse fixture by the conftest of each area that has rate limits.
    """
    limiter.reset()
    public_limits(app).reset()  # /r/ and /i/ count with limits directly
    yield
    limiter.reset()
    public_limits(app).reset()
