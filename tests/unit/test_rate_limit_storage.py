"""SweptMemoryStorage: limits' in-process counters, swept by one thread per process."""

from __future__ import annotations

import threading
import time

from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from advocacy.extensions import SweptMemoryStorage


def test_the_scheme_names_the_swept_storage():
    assert isinstance(storage_from_string("advocacy+memory://"), SweptMemoryStorage)


def _count_thread_starts(monkeypatch) -> list[str]:
    started: list[str] = []
    start = threading.Thread.start

    def counting(self: threading.Thread) -> None:
        started.append(self.name)
        start(self)

    monkeypatch.setattr(threading.Thread, "start", counting)
    return started


def test_counting_starts_one_thread_not_one_per_few_hits(monkeypatch):
    storage = SweptMemoryStorage()
    started = _count_thread_starts(monkeypatch)

    for _ in range(100):
        storage.incr("LIMITER/advocacy/127.0.0.1/public-links", 60)
        time.sleep(0.001)  # the base class re-arms its 10 ms timer every few of these

    assert started == ["rate-limit-sweeper"]
    assert storage.get("LIMITER/advocacy/127.0.0.1/public-links") == 100


def test_the_base_storage_would_start_many(monkeypatch):
    # What the test above guards against, shown on limits' own MemoryStorage.
    storage = MemoryStorage()
    started = _count_thread_starts(monkeypatch)

    for _ in range(100):
        storage.incr("key", 60)
        time.sleep(0.001)

    assert len(started) > 3


def test_limits_count_as_with_the_base_storage():
    limiter = FixedWindowRateLimiter(SweptMemoryStorage())
    limit = parse("3 per minute")

    allowed = [limiter.hit(limit, "client") for _ in range(5)]

    assert allowed == [True, True, True, False, False]


def test_stale_counters_are_swept(monkeypatch):
    monkeypatch.setattr(SweptMemoryStorage, "SWEEP_SECONDS", 0.01)
    storage = SweptMemoryStorage()
    storage.incr("old", 0.001)
    deadline = time.monotonic() + 10

    while "old" in storage.storage:
        assert time.monotonic() < deadline, "never swept"
        time.sleep(0.01)
