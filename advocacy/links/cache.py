"""The click path's per-process cache of link states, and the thread that keeps it fresh.

A shared link is clicked in bursts: reading its row (link, campaign, enrollment,
allow-list) once per period instead of once per click takes a query off the hot path.
What is decided from the row is decided again on every click, at the click's time
(expiry, campaign dates); what the row says may be up to ``seconds`` old: a link revoked
or renewed, a campaign paused or ended, an advocate withdrawn or a domain removed from the
allow-list takes effect in a process at most ``seconds`` later.

Without a refresher an entry simply expires and the next click reads the row again. With
one (``CacheRefresher``, a daemon thread per process), every ``seconds / 2`` the links
clicked since their last read are read again in one query, so a link that keeps being
clicked is never read on the click path, and still never more than ``seconds`` old.

While the database is away (a refresh or a click's read failed, and no refresh has
succeeded since), entries are served up to ``max_stale`` seconds after their last good
read (LINK_STALE_SECONDS, 15 minutes by default), so known links keep redirecting through
an outage; links not cached when it began get the error page. The first successful
refresh ends it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from advocacy.links.recorder import process_id

log = logging.getLogger("advocacy.links")

LINK_CACHE_MAX_ENTRIES = 10_000


class LinkCache:
    """Link states by link id, each valid ``seconds`` after it was read.

    Safe to share between threads: entries are replaced, never changed.
    """

    def __init__(
        self,
        seconds: float,
        *,
        max_entries: int = LINK_CACHE_MAX_ENTRIES,
        max_stale: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.max_stale = max(seconds, max_stale)
        self.max_entries = max_entries
        self.database_failing = False
        self._clock = clock
        self._entries: dict[int, tuple[float, Any]] = {}  # link id -> (read at, state)
        self._used: set[int] = set()  # followed since the last refresh

    def get(self, link_id: int) -> Any | None:
        """The state read for ``link_id`` less than ``seconds`` ago (``max_stale`` while the
        database is failing), or None."""
        entry = self._entries.get(link_id)
        if entry is None:
            return None
        age = self._clock() - entry[0]
        if age >= self.seconds and (not self.database_failing or age >= self.max_stale):
            return None
        self._used.add(link_id)
        return entry[1]

    def database_failed(self, link_id: int | None = None) -> Any | None:
        """Note that the database failed (until a refresh succeeds); the last known state of
        ``link_id``, if not older than ``max_stale``."""
        self.database_failing = True
        return self.get(link_id) if link_id is not None else None

    def put(self, link_id: int, state: Any, read_at: float | None = None) -> None:
        if len(self._entries) >= self.max_entries:
            # Bounded memory: start over rather than track ages (a full cache is rare:
            # max_entries distinct links clicked within one period).
            self._entries.clear()
        self._entries[link_id] = (self._clock() if read_at is None else read_at, state)

    def peek(self, link_id: int) -> Any | None:
        """The state last read for ``link_id``, however old (None if none)."""
        entry = self._entries.get(link_id)
        return entry[1] if entry is not None else None

    def now(self) -> float:
        return self._clock()

    def due(self) -> list[int]:
        """The links followed since the last call whose state is at least half a period old.

        The others are left to expire: a link nobody follows is not worth a read.
        """
        used, self._used = self._used, set()
        half = self._clock() - self.seconds / 2
        return [i for i in used if (entry := self._entries.get(i)) and entry[0] <= half]

    def refresh(self, link_ids: Iterable[int], states: Mapping[int, Any], read_at: float) -> None:
        """Replace the entries of ``link_ids`` by ``states`` read at ``read_at``; a link
        with no state any more (deleted) leaves the cache."""
        for link_id in link_ids:
            state = states.get(link_id)
            if state is None:
                self._entries.pop(link_id, None)
            else:
                self.put(link_id, state, read_at)

    def forget(self, link_ids: Iterable[int]) -> None:
        """Drop these links' entries: the next click reads them (a revocation made by this
        process takes effect here at once; other processes see it within ``seconds``)."""
        for link_id in link_ids:
            self._entries.pop(link_id, None)

    def clear(self) -> None:
        self._entries.clear()
        self._used.clear()

    def __len__(self) -> int:
        return len(self._entries)


class CacheRefresher:
    """Reads the due entries of a ``LinkCache`` again, every half period, in one query."""

    def __init__(
        self, cache: LinkCache, read_states: Callable[[list[int]], Mapping[int, Any]]
    ) -> None:
        self.cache = cache
        self.read_states = read_states
        self._pid = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def ensure_running(self) -> None:
        """Start the thread in this process if it is not running (a fork has none)."""
        if self._pid == process_id() and self._thread is not None and self._thread.is_alive():
            return
        self._pid = process_id()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="link-cache", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (it is a daemon: a process that exits needs no call)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def refresh_once(self) -> int:
        """Read the due links again; how many were read."""
        due = self.cache.due()
        if due:
            read_at = self.cache.now()  # before the read: an entry is never younger
            try:
                states = self.read_states(due)
            except Exception:
                self.cache.database_failed()
                raise
            self.cache.refresh(due, states, read_at)
            self.cache.database_failing = False
        return len(due)

    def _run(self) -> None:
        failures = 0
        while not self._stop.wait(self.cache.seconds / 2):
            try:
                self.refresh_once()
                failures = 0
            except Exception:
                # Entries are served stale (up to max_stale) until a refresh succeeds.
                failures += 1
                if failures == 1:
                    log.exception("refreshing the link cache failed: serving last known states")
