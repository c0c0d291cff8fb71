"""Request ids, one structured log line per request, Prometheus metrics."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry
from prometheus_flask_exporter import PrometheusMetrics
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

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


def init_app(app: Flask) -> None:
    _configure_logging(app.config.get("LOG_LEVEL", "INFO"))
    # One registry per app, so tests can build many apps; under gunicorn with
    # PROMETHEUS_MULTIPROC_DIR set, the exporter aggregates every worker's files.
    metrics = PrometheusMetrics(
        app,
        registry=CollectorRegistry(),
        group_by="url_rule",
        defaults_prefix="advocacy",
        excluded_paths=["^/metrics$"],
    )
    metrics.info("advocacy_info", "advocacy service", version="v1")

    @app.before_request
    def _start_request() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.environ["advocacy.request_id"] = request_id
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish_request(response: Response) -> Response:
        request_id = request.environ.get("advocacy.request_id") or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        duration_ms = (time.perf_counter() - started) * 1000 if started else None
        principal = g.get("principal")
        access_log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "route": request.url_rule.rule if request.url_rule else None,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 2) if duration_ms is not None else None,
                "workspace_id": principal.workspace_id if principal else None,
                "api_key_id": principal.api_key_id if principal else None,
            },
        )
        return response
