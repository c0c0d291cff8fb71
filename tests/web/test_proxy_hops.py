"""Behind one trusted proxy (TRUSTED_PROXY_HOPS=1) the client is the address the proxy saw.

The proxy connects from its own address and appends the client's to X-Forwarded-For.
Without ProxyFix every visitor shares the proxy's rate-limit bucket and its IP hash.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.extensions import db
from advocacy.links.clicks import hash_ip
from advocacy.links.models import Click
from advocacy.web.clickpath import public_limits
from tests import factories

PROXY = "10.0.0.2"


@pytest.fixture(scope="module")
def proxied_app(app: Any, database_url: str) -> Iterator[Any]:
    # ``app`` has migrated the database; this one trusts one proxy hop and commits for real.
    with factories.own_app(database_url, TRUSTED_PROXY_HOPS=1) as own:
        yield own


@pytest.fixture
def link(proxied_app: Any) -> Iterator[dict[str, Any]]:
    with factories.committed_link(proxied_app, "proxy") as link:
        yield link


def _click(app: Any, link: dict[str, Any], forwarded_for: str) -> Any:
    return app.test_client().get(
        f"/r/{link['token']}",
        headers={"X-Forwarded-For": forwarded_for},
        environ_base={"REMOTE_ADDR": PROXY},
    )


def _ip_hashes(app: Any, link: dict[str, Any]) -> list[str]:
    with app.app_context():
        hashes = db.session.scalars(
            select(Click.ip_hash).where(Click.link_id == link["id"]).order_by(Click.id)
        ).all()
        db.session.remove()
    return list(hashes)


def test_each_client_behind_the_proxy_has_its_own_rate_limit(proxied_app, link, monkeypatch):
    monkeypatch.setitem(proxied_app.config, "CLICK_RATE_LIMIT", "2 per minute")
    public_limits(proxied_app).reset()

    first = [_click(proxied_app, link, "203.0.113.7").status_code for _ in range(3)]
    other = _click(proxied_app, link, "198.51.100.9").status_code

    assert first == [302, 302, 429]
    assert other == 302
    public_limits(proxied_app).reset()


def test_a_forged_forwarded_for_does_not_escape_the_limit(proxied_app, link, monkeypatch):
    # The client sends its own X-Forwarded-For; the proxy appends the address it saw.
    monkeypatch.setitem(proxied_app.config, "CLICK_RATE_LIMIT", "2 per minute")
    public_limits(proxied_app).reset()

    statuses = [
        _click(proxied_app, link, f"192.0.2.{i}, 203.0.113.7").status_code for i in range(3)
    ]

    assert statuses == [302, 302, 429]
    public_limits(proxied_app).reset()


def test_the_click_hashes_the_clients_address_not_the_proxys(proxied_app, link):
    public_limits(proxied_app).reset()
    _click(proxied_app, link, "192.0.2.1, 203.0.113.7")

    key = proxied_app.config["SECRET_KEY"].encode()
    assert _ip_hashes(proxied_app, link) == [hash_ip("203.0.113.7", key)]


def test_without_trusted_hops_the_header_is_ignored(app, database_url):
    # The default (0): a direct client cannot pick its address with the header.
    with (
        factories.own_app(database_url) as direct,
        factories.committed_link(direct, "direct") as link,
    ):
        _click(direct, link, "203.0.113.7")
        key = direct.config["SECRET_KEY"].encode()
        assert _ip_hashes(direct, link) == [hash_ip(PROXY, key)]
