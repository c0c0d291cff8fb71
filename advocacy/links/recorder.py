"""Clicks written behind the redirect: batched from a background thread of each process.

A click is one INSERT; written inline, its round trip, commit and connection checkout cost
more than the rest of the click path together. Here a click gets its id at once, from a
block reserved from the table's own sequence (one query per ``id_block`` clicks), and its
row joins a queue that a thread of this process writes every ``flush_seconds`` in one
multi-row INSERT: the redirect does not wait for the database.

The price, documented in the README: a click reaches the table up to ``flush_seconds``
after its redirect (a conversion cannot follow that fast: the visitor has a shop to browse
first), and a process that dies without exiting (SIGKILL, power loss) loses what it had
not written yet: at most ``flush_seconds`` of its clicks. Any normal exit (gunicorn's
graceful stop, ``max_requests`` recycling, SIGTERM) writes the queue first. A failed write
keeps its rows and is retried with back-off; while the queue is full (``max_pending``,
the database away for long) ``add`` says so and the caller writes the click inline.

Needs a sequence (PostgreSQL); SQLite, with one writer and no sequences, writes inline.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from advocacy.links.models import Click

log = logging.getLogger("advocacy.clicks")

_clicks = Click.__table__
# Idempotent by the reserved id: a batch retried after a commit whose answer was lost
# (the connection dropped at the wrong moment) does not fail on its own first copy.
_WRITE = pg_insert(_clicks).on_conflict_do_nothing(index_elements=[_clicks.c.id])
_RESERVE = text(
    "SELECT nextval(pg_get_serial_sequence('clicks', 'id')) FROM generate_series(1, :n)"
)
MAX_BACKOFF_SECONDS = 5.0


class ClickRecorder:
    """The clicks of one process: ids reserved in blocks, rows written in batches."""

    def __init__(
        self,
        engine: Engine,
        *,
        flush_seconds: float,
        max_pending: int = 100_000,
        id_block: int = 1_000,
    ) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("clicks are written behind only on PostgreSQL")
        self.engine = engine
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self.id_block = id_block
        self._start_process()

    def _start_process(self) -> None:
        # Everything a forked child must not share with its parent: the queue, the ids,
        # the locks and the thread (which a fork does not copy anyway).
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._ids_lock = threading.Lock()
        self._ids: deque[int] = deque()
        self._pending: list[Mapping[str, Any]] = []
        self._writing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._at_exit = False
        self._failures = 0

    def reserve_id(self) -> int:
        """A click id no other click has or will have (the table's sequence, in blocks)."""
        self._check_fork()
        try:
            return self._ids.popleft()
        except IndexError:
            pass
        with self._ids_lock:
            if not self._ids:
                with self.engine.connect() as connection:
                    block = connection.execute(_RESERVE, {"n": self.id_block}).scalars().all()
                    connection.commit()
                self._ids.extend(block)
            return self._ids.popleft()

    def add(self, row: Mapping[str, Any]) -> bool:
        """Queue a click (its ``id`` from ``reserve_id``); False when the queue is full."""
        self._check_fork()
        with self._lock:
            if len(self._pending) >= self.max_pending:
                return False
            self._pending.append(row)
            if self._thread is None or not self._thread.is_alive():
                self._start_thread()
        return True

    @property
    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> int:
        """Write every queued click now, in one transaction; the number written.

        On failure the rows go back to the front of the queue and the error is raised.
        """
        with self._writing:  # one batch at a time, so rows keep their order
            with self._lock:
                rows, self._pending = self._pending, []
            if not rows:
                return 0
            try:
                with self.engine.begin() as connection:
                    connection.execute(_WRITE, rows)
            except Exception:
                with self._lock:
                    self._pending[:0] = rows
                raise
            return len(rows)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread and write what is queued (at exit, and when the app is done)."""
        if self._pid != os.getpid():
            return
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        try:
            self.flush()
        except Exception:
            log.exception("clicks lost at exit: %d not written", self.pending)

    def _check_fork(self) -> None:
        if self._pid != os.getpid():
            self._start_process()

    def _start_thread(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="click-recorder", daemon=True)
        self._thread.start()
        if not self._at_exit:
            # Daemon, so a stuck database never holds the process; atexit writes the rest.
            atexit.register(self.close)
            self._at_exit = True

    def _run(self) -> None:
        while not self._stop.wait(self._delay()):
            try:
                self.flush()
                self._failures = 0
            except Exception:
                self._failures += 1
                log.exception(
                    "writing clicks failed (%d in a row); %d kept, retrying in %.1f s",
                    self._failures,
                    self.pending,
                    self._delay(),
                )

    def _delay(self) -> float:
        if not self._failures:
            return self.flush_seconds
        return min(self.flush_seconds * 2**self._failures, MAX_BACKOFF_SECONDS)
