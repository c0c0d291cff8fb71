"""The public pages' rate limits, counted with ``limits`` directly (no Flask-Limiter).

Two per-IP budgets are shared by ``/r/`` and ``/i/``: CLICK_RATE_LIMIT counts every
request, INVALID_LINK_RATE_LIMIT counts only the answers that named an unknown token (a
404) but is checked on every request, so an IP that guessed too many tokens gets 429 on
the public pages until its window ends. Both take limits' syntax (``;`` separates several)
and are counted in fixed windows, as Flask-Limiter counted them before.

Storage: Redis when REDIS_URL is set (shared by every process and host), else this
process's memory (``LocalWindows``: limits' fixed windows on the same keys, counted without
its storage machinery). In Redis, a request well within its budgets (under half of each,
counters read within the last 25 ms) is counted in the process and written behind in
batches (``advocacy.web.limitsync``, which states the bound: one sync interval of other
processes' traffic); any other asks Redis in the request. Redis failing must not fail the
click: the client has connect and socket timeouts and no retries, and when Redis does not
answer the limits **fail open to in-process counting** for ``RETRY_REDIS_SECONDS``, after
which Redis is tried again. ``status()`` says which storage counts now (``/readyz``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from limits.util import WindowStats

from advocacy.web.limitsync import Limit, SyncedCounts

log = logging.getLogger("advocacy.ratelimits")

NAMESPACE = "advocacy-public"
CLICK_SCOPE = "links"
UNKNOWN_SCOPE = "unknown-links"
REDIS_TIMEOUT_SECONDS = 0.25  # connect and per-command: a hung Redis costs a click this once
RETRY_REDIS_SECONDS = 5.0


def redis_options(timeout: float = REDIS_TIMEOUT_SECONDS) -> dict[str, Any]:
    """redis-py client options: bounded waits, no retries (redis-py retries 3 times with
    back-off by default, seconds per click while Redis is away)."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 0,
    }


@lru_cache(maxsize=64)
def parsed(limits: str) -> tuple[RateLimitItem, ...]:
    """A limit string parsed once (the configuration is read per request: tests change it)."""
    return tuple(parse_many(limits))


@lru_cache(maxsize=8192)
def _key(item: RateLimitItem, ids: tuple[str, ...]) -> str:
    return item.key_for(*ids)


# The caches below are keyed by the configuration string, not by limits' items: an item's
# __hash__ is Python code, run at every lookup (3% of the click path's samples).
@lru_cache(maxsize=8192)
def _counters(storage: Storage | None, limits: str, ids: tuple[str, ...]) -> tuple[Limit, ...]:
    """The counters of a limit string for one client: key (prefixed for ``storage``, if
    given), budget, window."""
    return tuple(
        (
            storage.prefixed_key(key) if isinstance(storage, RedisStorage) else key,
            item.amount,
            item.get_expiry(),
        )
        for item in parsed(limits)
        for key in (_key(item, ids),)
    )


class LocalWindows:
    """Fixed-window counters in this process, as ``limits``' MemoryStorage counts them
    (the same keys; a window starts at its first hit and lasts the item's expiry), without
    its generic machinery: a lock and a dict entry per counter (the click path's limits
    cost 2 to 3 times less). Expired counters are swept at most once a second, inline."""

    SWEEP_SECONDS = 1.0

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, list[float]] = {}  # key -> [count, window ends at]
        self._next_sweep = 0.0

    def incr(self, key: str, expiry: int) -> int:
        """Count a hit; the window's count after it."""
        now = self._clock()
        with self._lock:
            window = self._windows.get(key)
            if window is None or window[1] <= now:
                window = self._windows[key] = [0, now + expiry]
            window[0] += 1
            if now >= self._next_sweep:
                self._sweep(now)
            return int(window[0])

    def get(self, key: str) -> int:
        window = self._windows.get(key)
        return int(window[0]) if window is not None and window[1] > self._clock() else 0

    def get_expiry(self, key: str) -> float:
        """When the key's window ends (now if it has none)."""
        window = self._windows.get(key)
        now = self._clock()
        return window[1] if window is not None and window[1] > now else now

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self.SWEEP_SECONDS
        for key in [k for k, w in self._windows.items() if w[1] <= now]:
            del self._windows[key]


@dataclass(frozen=True)
class Exceeded:
    """A budget is spent: answer 429, ``retry_after`` seconds from now."""

    retry_after: int


class PublicLimits:
    """Counts the public pages' requests per client IP."""

    def __init__(self, redis_url: str | None, *, clock: Callable[[], float] = time.monotonic):
        self.redis_url = redis_url
        self._clock = clock
        self.memory = LocalWindows()
        self.redis: Storage | None = None
        self._synced: SyncedCounts | None = None
        if redis_url:
            self.redis = cast(Storage, storage_from_string(redis_url, **redis_options()))
            if isinstance(self.redis, RedisStorage):
                self._synced = SyncedCounts(self.redis, self._redis_failed)
        self._redis_down_until = 0.0
        self._lock = threading.Lock()
        self._limiters: dict[int, FixedWindowRateLimiter] = {}

    # -- which storage counts ------------------------------------------------------------

    def _storage(self) -> Storage | LocalWindows:
        if self.redis is None or self._clock() < self._redis_down_until:
            return self.memory
        return self.redis

    def _limiter(self, storage: Storage) -> FixedWindowRateLimiter:
        limiter = self._limiters.get(id(storage))
        if limiter is None:
            limiter = self._limiters[id(storage)] = FixedWindowRateLimiter(storage)
        return limiter

    def _counted(self, action: str, item: RateLimitItem, ids: tuple[str, ...]) -> Any:
        """``action`` (hit, test, stats) on the storage in use; on a Redis failure, again
        in memory."""
        storage = self._storage()
        try:
            return self._count(storage, action, item, ids)
        except Exception as error:
            if storage is self.memory:
                raise
            self._redis_failed(error)
            return self._count(self.memory, action, item, ids)

    def _count(
        self,
        storage: Storage | LocalWindows,
        action: str,
        item: RateLimitItem,
        ids: tuple[str, ...],
    ) -> Any:
        # limits' FixedWindowRateLimiter, with the key built once per client (its key_for
        # escapes every part at every call: a tenth of the click).
        key = _key(item, ids)
        if action == "hit":
            return storage.incr(key, item.get_expiry()) <= item.amount
        if action == "test":
            return storage.get(key) < item.amount
        if isinstance(storage, LocalWindows):
            remaining = max(0, item.amount - storage.get(key))
            return WindowStats(storage.get_expiry(key), remaining)
        return self._limiter(storage).get_window_stats(item, *ids)

    def _redis_failed(self, error: Exception) -> None:
        if self._synced is not None:
            self._synced.clear()
        with self._lock:
            if self._clock() < self._redis_down_until:
                return
            self._redis_down_until = self._clock() + RETRY_REDIS_SECONDS
        log.warning(
            "Redis rate-limit storage failed (%s): counting in this process for %.0f s",
            error.__class__.__name__,
            RETRY_REDIS_SECONDS,
        )

    def status(self) -> dict[str, Any]:
        """Where the limits are counted, and whether Redis answers (a ping, bounded)."""
        if self.redis is None:
            return {"storage": "memory"}
        try:
            ok = bool(self.redis.check())
        except Exception:
            ok = False
        if ok and self._clock() >= self._redis_down_until:
            return {"storage": "redis", "redis": "ok"}
        if not ok:
            self._redis_failed(ConnectionError("ping failed"))
        return {"storage": "memory (Redis unreachable: failing open)", "redis": "unreachable"}

    # -- counting -------------------------------------------------------------------------

    def hit(self, ip: str, click_limits: str, unknown_limits: str) -> Exceeded | None:
        """Count a request of ``ip`` against CLICK_RATE_LIMIT and check (without counting)
        INVALID_LINK_RATE_LIMIT; the first budget spent, if any."""
        ids = (NAMESPACE, CLICK_SCOPE, ip)
        unknown = (NAMESPACE, UNKNOWN_SCOPE, ip)
        clicks, guesses = parsed(click_limits), parsed(unknown_limits)
        storage = self._storage()
        if isinstance(storage, RedisStorage) and self._synced is not None:
            hits = _counters(storage, click_limits, ids)
            checks = _counters(storage, unknown_limits, unknown)
            if self._synced.decide_here(hits, checks):
                return None  # well within every budget: counted here, written behind
            try:
                counts = self._synced.ask(hits, checks)
            except Exception as error:
                self._redis_failed(error)
            else:
                for item, count in zip(clicks, counts, strict=False):
                    if count > item.amount:  # as limits' hit: the count after it <= amount
                        return self._exceeded(item, ids)
                for item, count in zip(guesses, counts[len(clicks) :], strict=True):
                    if count >= item.amount:  # as limits' test: one more would be over
                        return self._exceeded(item, unknown)
                return None
        if storage is self.memory:  # as the loops below, without their indirections
            windows = self.memory
            for i, (key, amount, expiry) in enumerate(_counters(None, click_limits, ids)):
                if windows.incr(key, expiry) > amount:
                    return self._exceeded(clicks[i], ids)
            for i, (key, amount, _) in enumerate(_counters(None, unknown_limits, unknown)):
                if windows.get(key) >= amount:
                    return self._exceeded(guesses[i], unknown)
            return None
        for item in clicks:
            if not self._counted("hit", item, ids):
                return self._exceeded(item, ids)
        for item in guesses:
            if not self._counted("test", item, unknown):
                return self._exceeded(item, unknown)
        return None

    def count_unknown(self, ip: str, unknown_limits: str) -> None:
        """Count an answer that named an unknown token (a 404)."""
        ids = (NAMESPACE, UNKNOWN_SCOPE, ip)
        items = parsed(unknown_limits)
        storage = self._storage()
        if isinstance(storage, RedisStorage) and self._synced is not None:
            counters = _counters(storage, unknown_limits, ids)
            items = tuple(
                i for i, c in zip(items, counters, strict=True) if not self._synced.count_here(c[0])
            )
        for item in items:
            self._counted("hit", item, ids)

    def _exceeded(self, item: RateLimitItem, ids: tuple[str, ...]) -> Exceeded:
        try:
            reset_at = float(self._counted("stats", item, ids).reset_time)
        except Exception:
            reset_at = time.time() + item.get_expiry()
        return Exceeded(max(1, int(reset_at - time.time())))

    def reset(self) -> None:
        """Forget every count (tests)."""
        self.memory.reset()
        if self._synced is not None:
            self._synced.clear()
        if self.redis is not None:
            try:
                self.redis.reset()
            except Exception:
                log.warning("could not reset the Redis rate-limit storage")
