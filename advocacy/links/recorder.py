"""Clicks written behind the redirect: batched from a background thread of each process.

A click is one INSERT; written inline, its round trip, commit and connection checkout cost
more than the rest of the click path together. Here a click gets its id at once, from ids
reserved ahead from the table's own sequence, and its row joins a queue that a thread of
this process writes every ``flush_seconds`` with one COPY: the redirect does not wait for
the database.

The price, documented in the README: a click reaches the table up to ``flush_seconds``
after its redirect (a conversion cannot follow that fast: the visitor has a shop to browse
first), and a process that dies without exiting (SIGKILL, power loss) loses what it had
not written yet: at most ``flush_seconds`` of its clicks. Any normal exit (gunicorn's
graceful stop, worker recycling, SIGTERM) writes the queue first. A failed write
keeps its rows and is retried with back-off; while the queue is full (``max_pending``,
the database away for long) ``add`` says so and the caller writes the click inline.

Ids are reserved ahead, so a click never waits for the database: the thread keeps at
least ``reserve_seconds`` of clicks at the recent rate in hand (CLICK_ID_RESERVE_SECONDS,
two minutes by default; at least ``id_block``), topping up when half is used. Through a
database outage the click path keeps handing out ids from that reserve, and queued rows
are written when the database returns; only a process that runs through its whole
reserve during an outage needs the database for its next click.

Needs a sequence (PostgreSQL); SQLite, with one writer and no sequences, writes inline.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import operator
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from psycopg import OperationalError
from psycopg.errors import UniqueViolation
from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger("advocacy.clicks")

_COLUMNS = (
    ("id", "bigint"),
    ("workspace_id", "bigint"),
    ("campaign_id", "bigint"),
    ("link_id", "bigint"),
    ("visitor_id", "text"),
    ("ip_hash", "text"),
    ("user_agent", "text"),
    ("unique_visit", "boolean"),
    ("clicked_at", "timestamptz"),
)
# Binary: psycopg packs the values and PostgreSQL reads them without parsing text (1.0 to
# 1.4 us a row in this process against 2.8 to 3.3, 2 to 3 us in PostgreSQL's against 4).
_COPY = f"COPY clicks ({', '.join(name for name, _ in _COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = [kind for _, kind in _COLUMNS]
_COPY_ROW = operator.itemgetter(*(name for name, _ in _COLUMNS))  # a queued click's values
# For a batch written twice: idempotent by the reserved id, one statement, an array per
# column. (A batch retried after a commit whose answer was lost, the connection dropped at
# the wrong moment, must not fail on its own first copy.)
_WRITE = text(
    f"INSERT INTO clicks ({', '.join(name for name, _ in _COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _COLUMNS)
    + ") ON CONFLICT (id) DO NOTHING"
)
# The ids as runs of consecutive values (start, end): usually one, a few when other
# processes reserve at the same time; thousands of ids in a handful of rows.
_RESERVE = text(
    "SELECT min(id), max(id) FROM ("
    " SELECT id, id - row_number() OVER (ORDER BY id) AS run FROM ("
    "  SELECT nextval(pg_get_serial_sequence('clicks', 'id')) AS id"
    "  FROM generate_series(1, :n)) AS reserved) AS runs "
    "GROUP BY run"
)
# This process's id, kept at fork: os.getpid() is a system call, three times per click.
_PID = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _PID.__setitem__(0, os.getpid()))


def process_id() -> int:
    """``os.getpid()`` without the system call."""
    return _PID[0]


MAX_BACKOFF_SECONDS = 5.0
MAX_RESERVE = 500_000  # ids held by one process at most
# Ids reserved per top-up at most (one every CLICK_FLUSH_MS until the target is reached):
# 300,000 nextval() at once, when the rate first rose, took PostgreSQL a third of a second
# of CPU in one burst, and the click path's p99 with it.
MAX_TOP_UP = 25_000


class ClickRecorder:
    """The clicks of one process: ids reserved ahead, rows written in batches."""

    def __init__(
        self,
        engine: Engine,
        *,
        flush_seconds: float,
        max_pending: int = 100_000,
        id_block: int = 1_000,
        reserve_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("clicks are written behind only on PostgreSQL")
        self.engine = engine
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self.id_block = id_block
        self.reserve_seconds = reserve_seconds
        self._clock = clock
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
        self._handed_out = 0  # ids since the rate was last measured
        self._rate = 0.0  # ids per second, smoothed
        self._rate_at = self._clock()
        self._topping_up = False  # below half the target: reserving in steps up to it

    def reserve_id(self) -> int:
        """A click id no other click has or will have (the table's sequence, reserved ahead)."""
        self._check_fork()
        self._handed_out += 1
        try:
            return self._ids.popleft()
        except IndexError:
            pass
        with self._ids_lock:
            if not self._ids:
                self._ids.extend(self._reserve(self.id_block))
            return self._ids.popleft()

    def _reserve(self, n: int) -> list[int]:
        with self.engine.connect() as connection:
            runs = connection.execute(_RESERVE, {"n": n}).all()
            connection.commit()
        # In C: a Python loop over a top-up's ids held the GIL for milliseconds.
        return list(itertools.chain.from_iterable(range(start, end + 1) for start, end in runs))

    @property
    def reserved(self) -> int:
        """Ids in hand."""
        return len(self._ids)

    def reserve_target(self) -> int:
        """How many ids to hold: ``reserve_seconds`` at the recent rate, at least a block."""
        now = self._clock()
        elapsed = now - self._rate_at
        if elapsed >= 1.0:
            current = self._handed_out / elapsed
            self._handed_out, self._rate_at = 0, now
            # Rises at once, falls slowly: a burst is what the reserve must outlast.
            self._rate = max(current, self._rate * 0.9)
        wanted = int(self._rate * self.reserve_seconds)
        return min(MAX_RESERVE, max(self.id_block, wanted))

    def top_up_ids(self) -> int:
        """Reserve more ids once fewer than half the target are in hand, MAX_TOP_UP at a
        time (one step a flush) until the target is; how many."""
        target = self.reserve_target()
        held = len(self._ids)
        if held >= target or (held >= target // 2 and not self._topping_up):
            self._topping_up = False
            return 0
        self._topping_up = True
        block = self._reserve(min(target - held, MAX_TOP_UP))
        with self._ids_lock:
            self._ids.extend(block)
        return len(block)

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
                self._write(rows)
            except Exception:
                with self._lock:
                    self._pending[:0] = rows
                raise
            return len(rows)

    def _write(self, rows: list[Mapping[str, Any]]) -> None:
        """COPY the rows in (a third of the CPU of any INSERT: psycopg packs COPY rows in
        C). COPY has no ON CONFLICT: a batch whose commit was answered but the answer lost
        meets its own first copy, and is then written with an INSERT that skips it."""
        try:
            self._copy(rows)
        except UniqueViolation:
            columns = {name: [row[name] for row in rows] for name, _ in _COLUMNS}
            with self.engine.begin() as connection:
                connection.execute(_WRITE, columns)

    def _copy(self, rows: list[Mapping[str, Any]]) -> None:
        """One COPY in autocommit: the statement is its own transaction, so a batch costs
        two round trips instead of four (no BEGIN, no COMMIT): 10 to 30% less CPU per
        flush in this process and in PostgreSQL's (measured, 5 to 200 rows), which every
        process pays ten times a second however few clicks it has."""
        pooled = self.engine.raw_connection()
        try:
            driver: Any = pooled.driver_connection
            driver.autocommit = True
            try:
                with driver.cursor() as cursor, cursor.copy(_COPY) as copy:
                    copy.set_types(_COPY_TYPES)
                    for row in rows:
                        copy.write_row(_COPY_ROW(row))
            finally:
                if not driver.closed:
                    driver.autocommit = False
        except OperationalError:
            pooled.invalidate()  # the connection is gone: the pool must not hand it out
            raise
        finally:
            pooled.close()

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
        if self._pid != process_id():
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
                self.top_up_ids()
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
