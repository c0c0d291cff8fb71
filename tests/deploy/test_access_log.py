"""The click path's access lines under gunicorn, written in chunks (ACCESS_LOG_FLUSH_MS):
none is lost, none is cut, and none waits for more traffic or is left behind at a
graceful stop."""

from __future__ import annotations

import http.client
import json
import os
import time
from pathlib import Path

from tests import factories
from tests.servers import free_port, gunicorn_command, serving

FLUSH_MS = 200


def _click(port: int, token: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", f"/r/{token}")
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _click_lines(log: Path) -> list[dict]:
    lines = []
    for text in log.read_text().splitlines():
        if '"logger": "advocacy.access"' in text:
            lines.append(json.loads(text))  # whole lines only: a cut one fails here
    return [line for line in lines if line["route"] == "/r/<token>"]


def test_click_access_lines_are_all_written_without_waiting_for_traffic_or_lost_at_stop(
    app: object, database_url: str, tmp_path: Path
):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "ADVOCACY_ENV": "test",
        "DATABASE_URL": database_url,
        "GUNICORN_WORKERS": "1",
        "LOG_LEVEL": "INFO",
        "ACCESS_LOG_FLUSH_MS": str(FLUSH_MS),
        "CLICK_RATE_LIMIT": "10000 per minute",
    }
    with (
        factories.own_app(database_url) as own,
        factories.committed_link(own, "accesslog") as link,
    ):
        with serving(gunicorn_command(port), port, log, env):
            assert all(_click(port, link["token"]) == 302 for _ in range(30))
            deadline = time.monotonic() + 10
            while len(_click_lines(log)) < 30 and time.monotonic() < deadline:
                time.sleep(0.05)  # no request in the meantime: the writer thread's work
            first = _click_lines(log)
            assert len(first) == 30
            assert all(line["status"] == 302 for line in first)
            assert len({line["request_id"] for line in first}) == 30
            assert all(_click(port, link["token"]) == 302 for _ in range(20))
        # SIGTERM right after the last answer: the waiting lines were written at exit.
        assert len({line["request_id"] for line in _click_lines(log)}) == 50
