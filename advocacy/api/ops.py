"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app
from sqlalchemy import text

from advocacy.errors import problem
from advocacy.extensions import db
from advocacy.web.clickpath import public_limits

blp = Blueprint("ops", __name__)


@blp.get("/healthz")
def healthz() -> dict[str, Any]:
    """The process is alive."""
    return {"status": "ok"}


@blp.get("/readyz")
def readyz() -> Any:
    """Ready when the database answers; says whether Redis does (rate limits) too."""
    checks: dict[str, Any] = {"database": "ok", **public_limits(current_app).status()}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means not ready
        db.session.rollback()
        checks["database"] = "unreachable"
        response = problem(503, "The database is not reachable.", headers={"Retry-After": "5"})
        body = json.loads(response.get_data())
        response.set_data(json.dumps({**body, "checks": checks}))
        return response
    # Redis away: still ready (the public pages count their limits in each process), but
    # degraded, which monitoring should see.
    status = "degraded" if checks.get("redis") == "unreachable" else "ready"
    return {"status": status, "database": db.engine.dialect.name, "checks": checks}
