"""Rate-limit counters in Redis, counted in the process and written behind in batches.

A Redis round trip per click (redis-py, loopback) cost half the click path's throughput.
Here each process keeps, for every counter it uses, the last total Redis gave it and the
hits it has counted since; a thread of the process adds those hits to Redis every
``SYNC_SECONDS`` (25 ms) in one pipeline (limits' own increment script, the same keys and
expiry as ``limits``' fixed windows), reading back the shared totals.

A request is decided here, without waiting for Redis, only when this process read the
counter's total less than one sync ago and that total plus its own hits since stays
within **half** the budget. Anything else (a counter this process has not seen lately, a
count past half the budget, a spent budget) asks Redis in the request, as before, adding
this process's pending hits of those counters in the same round trip.

The bound, documented in README: a request decided here may be let through although
other processes' requests, made since this process's last sync and not yet read, have
already spent the budget; that takes more than half a budget from one client within one
sync interval (25 ms: 60 requests of one IP in 25 ms under "120 per minute"), and it lasts
one sync. Hits counted here and not yet written when Redis fails (at most one sync's) are
dropped with the counters: the limits then count in the process (``PublicLimits``).
"""

from __future__ import annotations

import functools
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from limits.storage import RedisStorage
from redis.exceptions import NoScriptError

SYNC_SECONDS = 0.025
Limit = tuple[str, int, int]  # a counter's Redis key, its budget, its window in seconds


class _Counter:
    """One Redis counter as this process knows it."""

    __slots__ = ("expiry", "in_flight", "pending", "shared", "used")

    def __init__(self, expiry: int, shared: int) -> None:
        self.expiry = expiry
        self.shared = shared  # the total Redis last answered
        self.pending = 0  # hits counted here since, not yet sent
        self.in_flight = 0  # hits sent, the answer not yet read
        self.used = True  # asked about since the last sync

    def estimate(self) -> int:
        return self.shared + self.in_flight + self.pending


def _forget_process(ref: weakref.ReferenceType[SyncedCounts]) -> None:
    counts = ref()
    if counts is not None:
        counts._lock = threading.Lock()
        counts._counters = {}
        counts._thread = None


def counts_in_redis(storage: RedisStorage, increments: Sequence[tuple[str, int, int]]) -> list[int]:
    """The totals of ``(key, expiry, n)`` counters after adding ``n`` to each (``n`` = 0:
    read only), in one round trip: limits' increment script and GETs, pipelined."""
    client: Any = storage.get_connection()
    script = storage.lua_incr_expire
    for attempt in (1, 2):
        # EVALSHA, not the Script object: in a pipeline that asks SCRIPT EXISTS each time.
        pipe = client.pipeline(transaction=False)
        for key, expiry, n in increments:
            if n:
                pipe.evalsha(script.sha, 1, key, expiry, n)
            else:
                pipe.get(key)
        try:
            return [int(count or 0) for count in pipe.execute()]
        except NoScriptError:
            if attempt == 2:
                raise
            client.script_load(script.script)  # a restarted or flushed Redis
    raise AssertionError("unreachable")


class SyncedCounts:
    """This process's view of Redis counters (keys already prefixed), synced behind."""

    def __init__(self, storage: RedisStorage, on_failure: Callable[[Exception], None]) -> None:
        self.storage = storage
        self.on_failure = on_failure
        self._lock = threading.Lock()
        self._counters: dict[str, _Counter] = {}
        self._thread: threading.Thread | None = None
        # A forked child has no sync thread and must not write its parent's hits again.
        os.register_at_fork(after_in_child=functools.partial(_forget_process, weakref.ref(self)))

    def clear(self) -> None:
        with self._lock:
            self._counters.clear()

    # -- in the request ------------------------------------------------------------------

    def decide_here(self, hits: Sequence[Limit], checks: Sequence[Limit]) -> bool:
        """Count a hit on each counter of ``hits`` and pass every check of ``checks``
        without Redis, if all of them are known and stay within half their budget; False
        (nothing counted) when Redis must be asked."""
        counters = self._counters
        with self._lock:
            for key, amount, _ in (*hits, *checks):
                counter = counters.get(key)
                if counter is None or (counter.estimate() + 1) * 2 > amount:
                    return False
            for key, _, _ in hits:
                counter = counters[key]
                counter.pending += 1
                counter.used = True
            for key, _, _ in checks:
                counters[key].used = True
            self._ensure_thread()
        return True

    def ask(self, hits: Sequence[Limit], checks: Sequence[Limit]) -> list[int]:
        """Count a hit on each counter of ``hits`` in Redis and read the totals of
        ``checks``, adding this process's pending hits of all of them, in one round trip:
        the totals, hits first. Raises what Redis raises."""
        with self._lock:
            sent = []
            for (key, _, expiry), own in [*((h, 1) for h in hits), *((c, 0) for c in checks)]:
                counter = self._counters.get(key)
                pending = 0
                if counter is not None:
                    pending, counter.pending = counter.pending, 0
                    counter.in_flight += pending
                sent.append((key, expiry, pending + own, pending))
        totals = counts_in_redis(self.storage, [(key, e, n) for key, e, n, _ in sent])
        with self._lock:
            for (key, expiry, _, pending), total in zip(sent, totals, strict=True):
                counter = self._counters.get(key)
                if counter is None:
                    self._counters[key] = _Counter(expiry, total)
                else:
                    counter.shared, counter.used = total, True
                    counter.in_flight = max(0, counter.in_flight - pending)
            self._ensure_thread()
        return totals

    def count_here(self, key: str) -> bool:
        """Count a hit on a known counter, written behind; False if it is not known."""
        with self._lock:
            counter = self._counters.get(key)
            if counter is None:
                return False
            counter.pending += 1
            counter.used = True
            self._ensure_thread()
        return True

    # -- behind ----------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        """Start the sync thread if it is not running (called holding the lock): a known
        counter is never left without one, so its total is never more than a sync old."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="limit-sync", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        stop = threading.Event()
        while not stop.wait(SYNC_SECONDS):
            if not self.sync():
                return

    def sync(self) -> bool:
        """Send the pending hits, read back the totals of the counters used since the last
        sync and forget the others; False when the thread should stop: no counter left
        (idle), or Redis failed (the counters are dropped)."""
        with self._lock:
            batch = []
            for key, counter in list(self._counters.items()):
                if not counter.used:
                    del self._counters[key]  # unused for a sync: its total would go stale
                    continue
                counter.used = False
                pending, counter.pending = counter.pending, 0
                counter.in_flight += pending
                batch.append((key, counter, pending))
            if not batch:
                self._thread = None
                return False
        try:
            totals = counts_in_redis(
                self.storage, [(key, counter.expiry, n) for key, counter, n in batch]
            )
        except Exception as error:
            with self._lock:
                self._counters.clear()
                self._thread = None
            self.on_failure(error)
            return False
        with self._lock:
            for (_, counter, pending), total in zip(batch, totals, strict=True):
                counter.shared = total
                counter.in_flight = max(0, counter.in_flight - pending)
        return True
