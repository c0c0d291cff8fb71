"""Conversions through a database outage (PostgreSQL): nothing stays stuck.

The app reaches PostgreSQL through a TCP relay the test can cut (every connection dropped,
new ones refused) and restore. A conversion is held mid-request (after its key is claimed)
by a row lock the test owns, the database "fails" under it, then comes back: the failed
request answered 503 with Retry-After, and the client's retry with the same
Idempotency-Key gets its answer at once, not a 409 for minutes.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from advocacy.customers.models import Customer
from advocacy.rewards.models import Conversion, IdempotencyKey, Reward
from tests.rewards.live import Live, count_rows, live_program, purchase


class Relay:
    """Forwards loopback connections to the database until cut."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.up = True
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self._server.close()


@pytest.fixture
def relay(database_url: str) -> Iterator[Relay]:
    if not database_url.startswith("postgresql"):
        pytest.skip("an outage of a server database (PostgreSQL)")
    url = make_url(database_url)
    relay = Relay((url.host or "127.0.0.1", url.port or 5432))
    yield relay
    relay.close()


@pytest.fixture
def live(relay: Relay, database_url: str) -> Iterator[Live]:
    relayed = make_url(database_url).set(host="127.0.0.1", port=relay.port)
    with live_program(relayed.render_as_string(hide_password=False), hold_days=0) as program:
        yield program
        relay.restore()  # the clean-up goes through the relay too


def _wait_for_lock_wait(conn: Any, timeout: float = 20) -> None:
    """Until some session of the database waits on a row lock (the held request)."""
    deadline = time.monotonic() + timeout
    while not conn.scalar(
        text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    ):
        assert time.monotonic() < deadline, "the conversion never reached the advocate's lock"
        time.sleep(0.05)


def test_a_retry_after_an_outage_gets_its_answer_at_once(live, relay, database_url):
    body, key = purchase(live), {"Idempotency-Key": uuid.uuid4().hex}
    direct = create_engine(database_url)
    try:
        with direct.connect() as holder, direct.connect() as watcher:
            # Hold the advocate's row: the conversion claims its key, then waits here.
            holder.execute(
                select(Customer.id)
                .where(Customer.workspace_id == live.workspace_id, Customer.external_id == "ann")
                .with_for_update()
            ).all()
            with ThreadPoolExecutor(1) as pool:
                first = pool.submit(live.call, "POST", "/api/v1/conversions", body, key)
                _wait_for_lock_wait(watcher)
                relay.cut()  # the database goes away under the claimed key
                status, headers, problem = first.result(timeout=60)
            holder.rollback()
    finally:
        direct.dispose()

    assert status == 503, problem
    assert headers["Content-Type"] == "application/problem+json"
    assert int(headers["Retry-After"]) > 0
    assert problem["status"] == 503

    relay.restore()  # the database is back
    started = time.monotonic()
    status, headers, answer = live.call("POST", "/api/v1/conversions", body, key)
    assert status == 201, answer
    assert time.monotonic() - started < 2
    assert answer["attributed"] is True
    assert count_rows(database_url, Conversion, live.workspace_id) == 1
    assert count_rows(database_url, Reward, live.workspace_id) == 2
    assert count_rows(database_url, IdempotencyKey, live.workspace_id) == 1

    replayed = live.call("POST", "/api/v1/conversions", body, key)
    assert replayed[0] == 201 and replayed[1]["Idempotent-Replayed"] == "true"
    assert replayed[2] == answer
