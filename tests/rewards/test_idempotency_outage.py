"""Conversions through a database outage (PostgreSQL): nothing stays stuck.

The app reaches PostgreSQL through a TCP relay the test can cut (every connection dropped,
new ones refused) and restore. A conversion is held mid-request (after its key is claimed)
by a row lock the test owns, the database "fails" under it, then comes back: the failed
request answered 503 with Retry-After, and the client's retry with the same
Idempotency-Key gets its answer at once, not a 409 for minutes.
"""

from __future__ import annotations

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
from tests.tcpproxy import TcpProxy


@pytest.fixture
def relay(database_url: str) -> Iterator[TcpProxy]:
    if not database_url.startswith("postgresql"):
        pytest.skip("an outage of a server database (PostgreSQL)")
    url = make_url(database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy


@pytest.fixture
def live(relay: TcpProxy, database_url: str) -> Iterator[Live]:
    relayed = make_url(database_url).set(host="127.0.0.1", port=relay.port)
    with live_program(relayed.render_as_string(hide_password=False), hold_days=0) as program:
        yield program
        if relay.is_cut:
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
