"""Redis-counted limits decided in the process while well within budget, synced behind."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from advocacy.web import limitsync
from advocacy.web.ratelimits import CLICK_SCOPE, NAMESPACE, PublicLimits, _key, parsed
from tests.tcpproxy import closed_port

REDIS_URL = "redis://127.0.0.1:6379/1"
BUDGET = "100 per minute"


@pytest.fixture
def limits() -> Iterator[PublicLimits]:
    own = PublicLimits(REDIS_URL)
    if own.redis is None or not own.redis.check():
        pytest.skip("no Redis on 127.0.0.1:6379")
    yield own
    own.reset()


@pytest.fixture
def ip() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = limitsync.counts_in_redis

    def counted(storage: Any, increments: Any) -> list[int]:
        calls.append(len(increments))
        return real(storage, increments)

    monkeypatch.setattr(limitsync, "counts_in_redis", counted)
    return calls


def _redis_count(limits: PublicLimits, ip: str, budget: str = BUDGET) -> int:
    """The click counter of ``ip`` as Redis has it."""
    assert limits.redis is not None
    return int(limits.redis.get(_key(parsed(budget)[0], (NAMESPACE, CLICK_SCOPE, ip))))


def _stop_syncing(limits: PublicLimits, monkeypatch: pytest.MonkeyPatch) -> None:
    """No sync thread: the test calls ``sync`` itself."""
    assert limits._synced is not None
    monkeypatch.setattr(limits._synced, "_ensure_thread", lambda: None)


def test_hits_well_within_budget_need_one_round_trip(limits, ip, round_trips, monkeypatch):
    _stop_syncing(limits, monkeypatch)

    answers = [limits.hit(ip, BUDGET, BUDGET) for _ in range(10)]

    assert answers == [None] * 10
    assert len(round_trips) == 1  # the first hit read the counters; the others were counted here


def test_a_sync_writes_the_hits_counted_here(limits, ip, monkeypatch):
    _stop_syncing(limits, monkeypatch)
    for _ in range(10):
        limits.hit(ip, BUDGET, BUDGET)
    assert _redis_count(limits, ip) == 1

    assert limits._synced is not None and limits._synced.sync()

    assert _redis_count(limits, ip) == 10


def test_past_half_the_budget_every_hit_asks_redis(limits, ip, round_trips, monkeypatch):
    _stop_syncing(limits, monkeypatch)

    answers = [limits.hit(ip, "4 per minute", "4 per minute") for _ in range(5)]

    assert answers[:4] == [None] * 4 and answers[4] is not None
    assert len(round_trips) == 4  # only the second hit was decided here (2 <= 4 / 2)
    assert _redis_count(limits, ip, "4 per minute") == 5


def test_another_processes_hits_are_seen_after_one_sync(limits, ip, monkeypatch):
    _stop_syncing(limits, monkeypatch)
    other = PublicLimits(REDIS_URL)
    limits.hit(ip, "10 per minute", "10 per minute")  # this process knows the counter: 1
    for _ in range(8):
        other.hit(ip, "10 per minute", "10 per minute")

    assert limits.hit(ip, "10 per minute", "10 per minute") is None  # the bound: one sync late
    assert limits._synced is not None and limits._synced.sync()
    assert limits.hit(ip, "10 per minute", "10 per minute") is not None  # 11 > 10


def test_a_failed_sync_drops_the_counters_and_counts_in_memory(limits, ip, monkeypatch):
    _stop_syncing(limits, monkeypatch)
    limits.hit(ip, BUDGET, BUDGET)
    synced = limits._synced
    assert synced is not None
    down = PublicLimits(f"redis://127.0.0.1:{closed_port()}/1")
    monkeypatch.setattr(synced, "storage", down.redis)

    assert synced.sync() is False

    assert synced._counters == {}
    assert limits._storage() is limits.memory
