"""The shipped nginx configuration in front of gunicorn, both really running on loopback.

A slow-client attack (many connections that send half a request and wait) stalls gunicorn
on its own: each gthread worker thread blocks reading one. Through deploy/nginx the same
attack waits in nginx, and /healthz and /r/ keep answering.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.extensions import db
from advocacy.links.clicks import hash_ip
from advocacy.links.models import Click
from tests import factories
from tests.servers import ROOT, free_port, gunicorn_command, serving

NGINX = "/usr/sbin/nginx"
SHIPPED = ROOT / "deploy" / "nginx" / "advocacy.conf"
THREADS = 4  # gunicorn threads: the attack below opens many more connections than this
ATTACKERS = 4 * THREADS
PATIENCE = 3.0  # seconds a visitor waits for an answer


def _get(
    port: int, path: str, *, source: str = "127.0.0.1", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str]]:
    """GET without following redirects; raises TimeoutError past PATIENCE."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=PATIENCE, source_address=(source, 0)
    )
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status, dict(response.headers)
    finally:
        connection.close()


def nginx_config(directory: Path, *, listen: int, upstream: int) -> Path:
    """The shipped server block, pointed at our ports, inside a main config of our own
    (pid, logs and temporary files in ``directory``)."""
    shipped = SHIPPED.read_text()
    site, listens = re.subn(r"(?m)^(\s*)listen 80;", rf"\1listen 127.0.0.1:{listen};", shipped)
    site, servers = re.subn(r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{upstream};", site)
    assert (listens, servers) == (1, 1), "the shipped config's listen/upstream lines moved"
    (directory / "advocacy.conf").write_text(site)
    user = "user root;" if os.geteuid() == 0 else ""
    main = directory / "nginx.conf"
    main.write_text(
        f"""{user}
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {directory}/advocacy.conf;
}}
"""
    )
    return main


@dataclass
class Stack:
    gunicorn: int
    nginx: int
    app: Any
    link: dict[str, Any]


@pytest.fixture(scope="module")
def stack(app: Any, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not os.access(NGINX, os.X_OK):
        pytest.fail(
            f"nginx is missing at {NGINX}: install it with `apt-get install -y nginx` "
            "(.ci/run does)"
        )
    directory = tmp_path_factory.mktemp("nginx")
    gunicorn_port, nginx_port = free_port(), free_port()
    env = {
        **os.environ,
        "ADVOCACY_ENV": "test",
        "DATABASE_URL": database_url,
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": str(THREADS),
        "TRUSTED_PROXY_HOPS": "1",
        "CLICK_RATE_LIMIT": "3 per minute",
        "LOG_LEVEL": "WARNING",
    }
    gunicorn = gunicorn_command(gunicorn_port)
    config = nginx_config(directory, listen=nginx_port, upstream=gunicorn_port)
    nginx = [NGINX, "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(config)]
    with (
        factories.own_app(database_url) as own,
        factories.committed_link(own, "nginx") as link,
        serving(gunicorn, gunicorn_port, directory / "gunicorn.log", env),
        serving(nginx, nginx_port, directory / "nginx.log", env),
    ):
        yield Stack(gunicorn_port, nginx_port, own, link)


@contextmanager
def slow_clients(port: int, count: int = ATTACKERS) -> Iterator[None]:
    """``count`` connections that each send half a request and then wait: request lines
    and headers without their end, and POSTs announcing a body they never send."""
    sockets = []
    try:
        for i in range(count):
            sock = socket.create_connection(("127.0.0.1", port))
            if i % 2:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: shop\r\nX-Slow: ")
            else:
                sock.sendall(
                    b"POST /api/v1/events HTTP/1.1\r\nHost: shop\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
                )
            sockets.append(sock)
        time.sleep(0.5)  # let the server take them up
        yield
    finally:
        for sock in sockets:
            sock.close()


def _stalls(port: int, path: str) -> bool:
    try:
        _get(port, path)
    except TimeoutError:
        return True
    return False


def test_slow_clients_stall_gunicorn_on_its_own(stack):
    # The baseline: what the proxy is for.
    with slow_clients(stack.gunicorn):
        assert _stalls(stack.gunicorn, "/healthz")


def test_behind_nginx_slow_clients_do_not_stall_health_checks(stack):
    with slow_clients(stack.nginx):
        status, _ = _get(stack.nginx, "/healthz")

    assert status == 200


def test_behind_nginx_slow_clients_do_not_stall_redirects(stack):
    with slow_clients(stack.nginx):
        status, headers = _get(stack.nginx, f"/r/{stack.link['token']}", source="127.0.0.9")

    assert status == 302
    assert headers["Location"].startswith("https://shop.example/")


def _ip_hashes(stack: Stack) -> list[str]:
    with stack.app.app_context():
        hashes = db.session.scalars(
            select(Click.ip_hash).where(Click.link_id == stack.link["id"]).order_by(Click.id)
        ).all()
        db.session.remove()
    return list(hashes)


def test_the_click_hashes_the_visitors_address_not_a_forged_one(stack):
    before = len(_ip_hashes(stack))

    status, _ = _get(
        stack.nginx,
        f"/r/{stack.link['token']}",
        source="127.0.0.7",
        headers={"X-Forwarded-For": "203.0.113.7"},
    )

    assert status == 302
    key = stack.app.config["SECRET_KEY"].encode()
    assert _ip_hashes(stack)[before:] == [hash_ip("127.0.0.7", key)]


def test_each_visitor_behind_nginx_has_its_own_rate_limit(stack):
    path = f"/r/{stack.link['token']}"

    first = [_get(stack.nginx, path, source="127.0.0.2")[0] for _ in range(4)]
    other = _get(stack.nginx, path, source="127.0.0.3")[0]

    assert first == [302, 302, 302, 429]  # CLICK_RATE_LIMIT: 3 per minute
    assert other == 302


def test_bodies_over_the_apps_limit_are_refused_at_the_proxy(stack):
    connection = http.client.HTTPConnection("127.0.0.1", stack.nginx, timeout=PATIENCE)
    try:
        connection.request(
            "POST",
            "/api/v1/events",
            body=b"x" * (2 * 1024 * 1024 + 1),
            headers={"Content-Type": "application/json"},
        )
        status = connection.getresponse().status
    finally:
        connection.close()

    assert status == 413


def test_metrics_are_for_the_scraper_only(stack):
    assert _get(stack.nginx, "/metrics")[0] == 200  # 127.0.0.1: the allowed scraper
    assert _get(stack.nginx, "/metrics", source="127.0.0.5")[0] == 403
