"""The public pages when Redis or the database fails: they keep redirecting, nothing hangs.

Redis is faked by a closed port (down) and by a local socket that accepts connections and
never answers (hung). A PostgreSQL outage is a loopback TCP proxy in front of the real
server that the test cuts and restores (tests/tcpproxy.py): the shared server never stops.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from advocacy import create_app
from advocacy.extensions import db
from advocacy.links import tokens
from advocacy.links.models import Click
from advocacy.web import clickpath
from advocacy.web.ratelimits import PublicLimits
from tests import factories
from tests.tcpproxy import TcpProxy, closed_port, silent_server

SIGNING_KEYS = ["test-signing-key-0123456789abcdef"]


def _path(link: dict[str, Any]) -> str:
    return f"/r/{link['token']}"


def _click_id(response: Any) -> int:
    jar = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        jar.load(header)
    ref = tokens.read_attribution(jar["adv_ref"].value, SIGNING_KEYS, 86400)
    assert ref is not None
    return ref.click_id


@pytest.fixture
def redis_down(app: Any, monkeypatch: pytest.MonkeyPatch) -> PublicLimits:
    """REDIS_URL naming a port nothing listens on."""
    limits = PublicLimits(f"redis://127.0.0.1:{closed_port()}/1")
    monkeypatch.setitem(app.extensions, clickpath.PUBLIC_LIMITS, limits)
    return limits


@pytest.fixture
def redis_hung(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[PublicLimits]:
    """REDIS_URL naming a server that accepts connections and never answers."""
    with silent_server() as port:
        limits = PublicLimits(f"redis://127.0.0.1:{port}/1")
        monkeypatch.setitem(app.extensions, clickpath.PUBLIC_LIMITS, limits)
        yield limits


@pytest.fixture
def redis_up(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[PublicLimits]:
    """The local Redis (database 1), counting for real."""
    limits = PublicLimits("redis://127.0.0.1:6379/1")
    if limits.redis is None or not limits.redis.check():
        pytest.skip("no Redis on 127.0.0.1:6379")
    limits.reset()
    monkeypatch.setitem(app.extensions, clickpath.PUBLIC_LIMITS, limits)
    yield limits
    limits.reset()


# --- Redis up ----------------------------------------------------------------------------


def test_redis_counts_a_flood_of_good_clicks(client, app, link, redis_up, monkeypatch):
    monkeypatch.setitem(app.config, "CLICK_RATE_LIMIT", "3 per minute")

    statuses = [client.get(_path(link)).status_code for _ in range(4)]

    assert statuses == [302, 302, 302, 429]
    assert redis_up.status()["storage"] == "redis"


def test_redis_counts_guesses(client, app, redis_up, monkeypatch):
    monkeypatch.setitem(app.config, "INVALID_LINK_RATE_LIMIT", "3 per minute")

    statuses = [client.get(f"/r/{n}.abcdef.{'x' * 27}").status_code for n in range(5)]

    assert statuses == [404, 404, 404, 429, 429]


def test_redis_shares_the_count_between_processes(redis_up):
    other_process = PublicLimits(redis_up.redis_url)

    assert redis_up.hit("10.0.0.9", "2 per minute", "5 per minute") is None
    assert other_process.hit("10.0.0.9", "2 per minute", "5 per minute") is None
    assert redis_up.hit("10.0.0.9", "2 per minute", "5 per minute") is not None


# --- Redis down or hung ---------------------------------------------------------------


def test_redis_down_clicks_still_redirect(client, link, redis_down):
    assert [client.get(_path(link)).status_code for _ in range(3)] == [302, 302, 302]


def test_redis_down_limits_are_counted_in_the_process(client, app, link, redis_down, monkeypatch):
    monkeypatch.setitem(app.config, "CLICK_RATE_LIMIT", "3 per minute")

    statuses = [client.get(_path(link)).status_code for _ in range(4)]

    assert statuses == [302, 302, 302, 429]


def test_redis_down_invitation_page_is_served(client, link, redis_down):
    assert client.get(f"/i/{link['token']}").status_code == 200


def test_hung_redis_costs_a_bounded_wait_once(client, link, redis_hung):
    started = time.monotonic()
    statuses = [client.get(_path(link)).status_code for _ in range(10)]
    invitation = client.get(f"/i/{link['token']}").status_code

    assert statuses == [302] * 10
    assert invitation == 200
    assert time.monotonic() - started < 3  # one socket timeout, then memory


def test_readyz_reports_redis_down_as_degraded(client, redis_down):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json["status"] == "degraded"
    assert response.json["checks"]["redis"] == "unreachable"


def test_readyz_answers_quickly_with_redis_hung(client, redis_hung):
    started = time.monotonic()
    response = client.get("/readyz")

    assert time.monotonic() - started < 2
    assert response.json["checks"]["redis"] == "unreachable"


def test_readyz_reports_redis_ok(client, redis_up):
    response = client.get("/readyz")

    assert response.json["status"] == "ready"
    assert response.json["checks"] == {"database": "ok", "storage": "redis", "redis": "ok"}


def test_redis_is_tried_again_after_the_fallback_period(redis_down):
    now = [1000.0]
    limits = PublicLimits(redis_down.redis_url, clock=lambda: now[0])
    limits.hit("10.0.0.1", "5 per minute", "5 per minute")
    assert limits._storage() is limits.memory

    now[0] += 60
    assert limits._storage() is limits.redis


# --- PostgreSQL away ------------------------------------------------------------------


@pytest.fixture
def outage(app: Any, database_url: str) -> Iterator[tuple[Any, TcpProxy]]:
    """An app of its own, as in production (cache, clicks written behind), whose engine
    reaches PostgreSQL through a proxy the test can cut."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    url = make_url(database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port)
        own = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": proxied.render_as_string(hide_password=False),
                "TESTING": True,
                "LINK_CACHE_SECONDS": 1,
                "LINK_STALE_SECONDS": 60,
                "CLICK_FLUSH_MS": 50,
            }
        )
        yield own, proxy
        if proxy.is_cut:
            proxy.restore()
        with own.app_context():
            own.extensions[clickpath.CACHE_REFRESHER].stop()
            own.extensions[clickpath.CLICK_RECORDER].close()
            db.engine.dispose()


def _stored(database_url: str, click_ids: list[int]) -> set[int]:
    direct = create_engine(database_url)  # not through the proxy
    try:
        with direct.connect() as conn:
            return set(conn.scalars(select(Click.id).where(Click.id.in_(click_ids))))
    finally:
        direct.dispose()


def test_known_links_keep_redirecting_while_the_database_is_away(outage, database_url):
    own, proxy = outage
    client = own.test_client()
    with factories.committed_link(own, "outage") as link:
        first = client.get(_path(link))
        assert first.status_code == 302  # the link is cached, ids are reserved

        proxy.cut()
        time.sleep(1.5)  # past LINK_CACHE_SECONDS: the entry would have expired
        during = [client.get(_path(link)) for _ in range(20)]
        ready = client.get("/readyz")
        proxy.restore()

        assert [r.status_code for r in during] == [302] * 20
        assert ready.status_code == 503
        assert ready.json["checks"]["database"] == "unreachable"
        ids = [_click_id(first)] + [_click_id(r) for r in during]
        assert len(set(ids)) == 21
        deadline = time.monotonic() + 20  # the writer backs off to 5 s between attempts
        while (stored := _stored(database_url, ids)) != set(ids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stored == set(ids)  # every click written once the database is back


def test_a_link_not_cached_before_the_outage_gets_the_friendly_error(outage):
    own, proxy = outage
    client = own.test_client()
    with factories.committed_link(own, "outage") as link:
        assert client.get(_path(link)).status_code == 302
        with factories.committed_link(own, "outage-new") as unseen:
            proxy.cut()
            response = client.get(_path(unseen))
            proxy.restore()

    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "Traceback" not in response.get_data(as_text=True)


def _unreachable_app(port: int) -> Any:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/advocacy"
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})


def test_readyz_is_503_with_postgresql_unreachable():
    app = _unreachable_app(closed_port())

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.json["checks"]["database"] == "unreachable"
    assert response.headers["Retry-After"] == "5"


def test_readyz_gives_up_on_a_hung_postgresql():
    with silent_server() as port:
        app = _unreachable_app(port)  # the default connect timeout: 5 s
        started = time.monotonic()
        response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert time.monotonic() - started < 8
