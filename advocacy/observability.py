"""Request ids, one structured log line per request, Prometheus metrics.

Metrics come straight from prometheus_client: one histogram observed in the same
after-request hook that writes the access line. (prometheus-flask-exporter did the same
through three hooks of its own, at 0.18 ms a request under gunicorn: a third of a bare
request.)
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import queue
import re
import sys
import threading
import time
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
LATENCY = "advocacy.latency"  # app.extensions: the request histogram (the click path's too)

access_log = logging.getLogger("advocacy.access")


class _RequestIds:
    """Request ids: 32 hex digits, a random prefix per process and a counter.

    Unique, not secret (they are echoed and logged): ``uuid4`` asks the OS for randomness
    at every request, a system call that cost the click path 7 us a request here.
    """

    def __init__(self) -> None:
        self.reseed()
        # A forked worker must not count on from its parent's prefix.
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count()

    def new(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFFFFFF:016x}"


_request_ids = _RequestIds()


def new_request_id(incoming: str = "") -> str:
    """The client's X-Request-ID if it is safe to echo and log, else a new one."""
    return incoming if incoming and SAFE_REQUEST_ID.match(incoming) else _request_ids.new()


def _configure_logging(level: str) -> None:
    root = logging.getLogger("advocacy")
    if any(getattr(h, "_advocacy", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )
    handler.setFormatter(formatter)
    handler._advocacy = True  # type: ignore[attr-defined]
    handler._advocacy_formatter = formatter  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


def _sole_handler() -> Any:
    """Our JSON handler, when it is the only place an access record can go (no other
    handler, filter or formatter on the way, as under gunicorn); else None."""
    parent = access_log.parent
    if access_log.handlers or access_log.filters or not access_log.propagate or parent is None:
        return None
    if parent.propagate or parent.filters or len(parent.handlers) != 1:
        return None
    handler = parent.handlers[0]
    if (
        getattr(handler, "_advocacy_formatter", None) is not handler.formatter
        or handler.filters
        or handler.level > logging.INFO
    ):
        return None
    return handler


def access_fields(
    request_id: str,
    method: str,
    route: str | None,
    path: str,
    status: int,
    duration_ms: float | None,
    principal: Any = None,
) -> dict[str, Any]:
    """The fields of a request's access line (``extra`` of ``access_log.info``)."""
    return {
        "request_id": request_id,
        "method": method,
        "route": route,
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
        "workspace_id": principal.workspace_id if principal else None,
        "api_key_id": principal.api_key_id if principal else None,
        "staff_user_id": principal.staff_user_id if principal else None,
    }


class _Clock:
    """``asctime`` as logging's Formatter writes it, its seconds formatted once a second."""

    second = -1
    text = ""

    @classmethod
    def asctime(cls, now: float) -> str:
        second = int(now)
        if second != cls.second:
            cls.text = time.strftime(logging.Formatter.default_time_format, time.localtime(now))
            cls.second = second
        return f"{cls.text},{int((now - second) * 1000):03d}"


def write_access_line(
    request_id: str, method: str, route: str, path: str, status: int, duration_ms: float
) -> None:
    """The access line of a request without a principal (the click path), exactly as the
    JSON handler formats ``access_log.info("request", extra=...)``, written without a
    LogRecord and without the formatter's generic work (a sixth of the click path's time
    under gunicorn, measured); through logging when anything else listens."""
    handler = _sole_handler()
    if handler is None:
        access_log.info(
            "request", extra=access_fields(request_id, method, route, path, status, duration_ms)
        )
        return
    line = (
        f'{{"time": "{_Clock.asctime(time.time())}", "level": "INFO", '
        f'"logger": "advocacy.access", "message": "request", '
        f'"request_id": {encode_basestring_ascii(request_id)}, '
        f'"method": {encode_basestring_ascii(method)}, "route": {encode_basestring_ascii(route)}, '
        f'"path": {encode_basestring_ascii(path)}, "status": {int(status)}, '
        f'"duration_ms": {float(duration_ms)!r}, '
        '"workspace_id": null, "api_key_id": null, "staff_user_id": null}\n'
    )
    _access_lines.add(handler, line)


def _write(handler: Any, text: str) -> None:
    handler.acquire()
    try:
        handler.stream.write(text)
        handler.flush()
    except Exception:
        handler.handleError(logging.makeLogRecord({"msg": text}))
    finally:
        handler.release()


class _AccessLines:
    """The click path's access lines, written to the log in chunks, as nginx's
    ``access_log ... buffer= flush=`` does: every ``flush_seconds`` (ACCESS_LOG_FLUSH_MS;
    0 writes each line at once), one write() per CHUNK bytes of whole lines. One write()
    a request was a sixth of the click path's CPU under gunicorn: every worker thread
    wrote to the one stderr, and queued for it.

    A request only puts its line on a ``queue.SimpleQueue`` (C, no Python-level lock);
    one thread writes. A chunk is whole lines and at most PIPE_BUF bytes, so a pipe never
    interleaves it with another process's lines. What waits is written at exit
    (``atexit``: gunicorn's workers exit normally on a graceful stop); past MAX_WAITING
    lines (the log is not being read) a request writes them itself, as it did before.
    """

    CHUNK = 4000  # < PIPE_BUF (4096): one atomic write() on a pipe
    MAX_WAITING = 10_000

    def __init__(self) -> None:
        self.flush_seconds = 0.0
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # the parent's lines are its own
        atexit.register(self.flush)

    def _reset(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Any, str]] = queue.SimpleQueue()
        self._waiting = threading.Event()  # a line waits for the writer
        self._writing = threading.Lock()  # one writer at a time: lines keep their order
        self._starting = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, handler: Any, line: str) -> None:
        if self.flush_seconds <= 0:
            self.flush()  # lines queued while it was on go first
            _write(handler, line)
            return
        self._queue.put((handler, line))
        if not self._waiting.is_set():  # set() notifies under a lock: once per flush
            self._waiting.set()
        if self._thread is None:
            self._start()
        if self._queue.qsize() > self.MAX_WAITING:
            self.flush()

    def _start(self) -> None:
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
                self._thread.start()

    def flush(self) -> None:
        """Write what waits, in chunks of whole lines."""
        with self._writing:
            chunk: list[str] = []
            size, handler = 0, None
            while True:
                try:
                    to, line = self._queue.get_nowait()
                except queue.Empty:
                    break
                if chunk and (to is not handler or size + len(line) > self.CHUNK):
                    _write(handler, "".join(chunk))
                    chunk, size = [], 0
                handler = to
                chunk.append(line)
                size += len(line)
            if chunk:
                _write(handler, "".join(chunk))

    def _run(self) -> None:
        while True:
            self._waiting.wait()
            time.sleep(max(self.flush_seconds, 0.001))
            self._waiting.clear()  # before taking the lines: a later one sets it again
            self.flush()


_access_lines = _AccessLines()


def _metrics(app: Flask) -> Histogram:
    """The request histogram and ``GET /metrics``, in a registry of this app's own (tests
    build many apps). Under gunicorn, PROMETHEUS_MULTIPROC_DIR set, /metrics adds up
    every worker's files."""
    registry = CollectorRegistry()
    latency = Histogram(
        "advocacy_http_request_duration_seconds",
        "HTTP request latency, by method, URL rule and status",
        ["method", "url_rule", "status"],
        registry=registry,
    )
    info = Gauge(
        "advocacy_info",
        "advocacy service",
        ["version"],
        registry=registry,
        multiprocess_mode="max",
    )
    info.labels(version="v1").set(1)

    def metrics() -> Response:
        """Prometheus metrics (text format)."""
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            scraped = CollectorRegistry()
            MultiProcessCollector(scraped)
        else:
            scraped = registry
        return Response(generate_latest(scraped), mimetype=CONTENT_TYPE_LATEST.split(";")[0])

    app.add_url_rule("/metrics", "metrics", metrics)
    return latency


def init_app(app: Flask) -> None:
    _configure_logging(app.config.get("LOG_LEVEL", "INFO"))
    # Process-wide, as the log handler is: the last app made sets it.
    _access_lines.flush_seconds = app.config.get("ACCESS_LOG_FLUSH_MS", 0) / 1000
    latency = app.extensions[LATENCY] = _metrics(app)

    @app.before_request
    def _start_request() -> None:
        environ = request.environ
        if "advocacy.started" in environ:
            return  # begun by the click path (advocacy/web/clickpath.py), which handed over
        environ["advocacy.started"] = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        environ["advocacy.request_id"] = new_request_id(incoming)

    @app.after_request
    def _finish_request(response: Response) -> Response:
        environ = request.environ
        request_id = environ.get("advocacy.request_id") or new_request_id()
        response.headers[REQUEST_ID_HEADER] = request_id
        started = environ.get("advocacy.started")
        duration = time.perf_counter() - started if started is not None else None
        rule = request.url_rule.rule if request.url_rule else None
        if duration is not None and rule != "/metrics":
            # By URL rule, never by path: customer ids must not become labels.
            latency.labels(request.method, rule or "<unmatched>", response.status_code).observe(
                duration
            )
        if access_log.isEnabledFor(logging.INFO):
            fields = access_fields(
                request_id,
                request.method,
                rule,
                request.path,
                response.status_code,
                round(duration * 1000, 2) if duration is not None else None,
                g.get("principal"),
            )
            access_log.info("request", extra=fields)
        return response
