"""Request ids, one structured log line per request, Prometheus metrics.

Metrics come straight from prometheus_client: one histogram observed in the same
after-request hook that writes the access line. (prometheus-flask-exporter did the same
through three hooks of its own, at 0.18 ms a request under gunicorn: a third of a bare
request.)
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid

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


def _configure_logging(level: str) -> None:
    root = logging.getLogger("advocacy")
    if any(getattr(h, "_advocacy", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler._advocacy = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


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
    latency = app.extensions[LATENCY] = _metrics(app)

    @app.before_request
    def _start_request() -> None:
        environ = request.environ
        if "advocacy.started" in environ:
            return  # begun by the click path (advocacy/web/clickpath.py), which handed over
        environ["advocacy.started"] = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        environ["advocacy.request_id"] = (
            incoming if SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        )

    @app.after_request
    def _finish_request(response: Response) -> Response:
        environ = request.environ
        request_id = environ.get("advocacy.request_id") or uuid.uuid4().hex
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
            principal = g.get("principal")
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "route": rule,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(duration * 1000, 2) if duration is not None else None,
                    "workspace_id": principal.workspace_id if principal else None,
                    "api_key_id": principal.api_key_id if principal else None,
                    "staff_user_id": principal.staff_user_id if principal else None,
                },
            )
        return response
