"""The click path on an app of its own, as in production: its own engine and pool.

Everywhere else the app is bound to one connection whose transaction is rolled back after
each test, and the click joins it. Here the click takes a pooled connection itself
(autocommit on PostgreSQL, a transaction on SQLite), so these tests commit for real, in a
workspace of their own that is deleted afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any

import pytest
from sqlalchemy import create_engine, event, select, text

import advocacy
from advocacy import create_app
from advocacy.extensions import db
from advocacy.links import tokens
from advocacy.links.models import Click
from tests import factories

SIGNING_KEYS = ["test-signing-key-0123456789abcdef"]
APPLICATION_NAME = f"advocacy-click-tests-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def own_app(app: Any, database_url: str) -> Iterator[Any]:
    # ``app`` has migrated the database; this one has its own engine and commits for real.
    config: dict[str, Any] = {"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True}
    if database_url.startswith("postgresql"):
        # A name of its own, to find (and drop) exactly its connections on the server.
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"prepare_threshold": None, "application_name": APPLICATION_NAME}
        }
    own = create_app(config)
    yield own
    with own.app_context():
        db.engine.dispose()


@pytest.fixture
def committed_link(own_app: Any) -> Iterator[dict[str, Any]]:
    with factories.committed_link(own_app, "engine") as link:
        yield link


@pytest.fixture
def engine(own_app: Any) -> Iterator[Any]:
    with own_app.app_context():
        yield db.engine


@pytest.fixture
def postgresql_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")


def _attribution(response: Any) -> tokens.AttributionRef | None:
    jar = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        jar.load(header)
    return tokens.read_attribution(jar["adv_ref"].value, SIGNING_KEYS, 86400)


def _drop_connections(database_url: str) -> int:
    """Terminate this app's connections on the server, as a restart or failover would."""
    admin = create_engine(database_url)
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name"
                    ),
                    {"name": APPLICATION_NAME},
                ).all()
            )
    finally:
        admin.dispose()


def test_the_click_is_committed_when_the_redirect_is_sent(own_app, database_url, committed_link):
    response = own_app.test_client().get(f"/r/{committed_link['token']}")

    assert response.status_code == 302
    other = create_engine(database_url)  # another connection, another transaction
    try:
        with other.connect() as conn:
            ids = conn.scalars(select(Click.id).where(Click.link_id == committed_link["id"])).all()
    finally:
        other.dispose()
    ref = _attribution(response)
    assert ref is not None
    assert ids == [ref.click_id]


def test_a_forged_token_takes_no_connection(own_app, engine, committed_link):
    checkouts = []

    def count(*args: Any) -> None:
        checkouts.append(1)

    event.listen(engine, "checkout", count)
    try:
        response = own_app.test_client().get(f"/r/{committed_link['token'][:-2]}zz")
    finally:
        event.remove(engine, "checkout", count)
    assert response.status_code == 404
    assert checkouts == []


def test_on_postgresql_each_statement_is_its_own_transaction(
    own_app, engine, committed_link, postgresql_only
):
    seen = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append((statement.split(None, 1)[0].upper(), cursor.connection.autocommit))

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = own_app.test_client().get(f"/r/{committed_link['token']}")
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert response.status_code == 302
    assert seen == [("SELECT", True), ("INSERT", True)]  # no BEGIN, no COMMIT


# --- pooled connections: pinged when idle, not when just used ------------------------------


def _count_pings(engine: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        pings.append(1)
        return bool(ping(dbapi_connection))

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    return pings


def test_a_connection_used_just_now_is_not_pinged(
    own_app, engine, committed_link, postgresql_only, monkeypatch
):
    monkeypatch.setattr(advocacy, "PING_AFTER_IDLE_SECONDS", 60)
    pings = _count_pings(engine, monkeypatch)

    for _ in range(3):
        assert own_app.test_client().get(f"/r/{committed_link['token']}").status_code == 302

    assert pings == []


def test_an_idle_connection_is_pinged(
    own_app, engine, committed_link, postgresql_only, monkeypatch
):
    monkeypatch.setattr(advocacy, "PING_AFTER_IDLE_SECONDS", 0)
    pings = _count_pings(engine, monkeypatch)

    assert own_app.test_client().get(f"/r/{committed_link['token']}").status_code == 302
    assert pings == [1]


def test_a_connection_dropped_while_idle_is_replaced_unnoticed(
    own_app, database_url, committed_link, postgresql_only, monkeypatch
):
    assert _drop_connections(database_url) >= 1
    monkeypatch.setattr(advocacy, "PING_AFTER_IDLE_SECONDS", 0)

    assert own_app.test_client().get(f"/r/{committed_link['token']}").status_code == 302


def test_a_connection_dropped_within_the_window_fails_one_request(
    own_app, database_url, committed_link, postgresql_only, monkeypatch
):
    # The price of not pinging a connection used less than PING_AFTER_IDLE_SECONDS ago:
    # the request that finds it dead fails; SQLAlchemy then renews the whole pool.
    monkeypatch.setattr(advocacy, "PING_AFTER_IDLE_SECONDS", 60)
    assert _drop_connections(database_url) >= 1
    path = f"/r/{committed_link['token']}"

    statuses = [own_app.test_client().get(path).status_code for _ in range(2)]

    assert statuses == [500, 302]
