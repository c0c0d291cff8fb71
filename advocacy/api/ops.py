"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import text

from advocacy.errors import problem
from advocacy.extensions import db

blp = Blueprint("ops", __name__)


@blp.get("/healthz")
def healthz() -> dict[str, Any]:
    """The process is alive."""
    return {"status": "ok"}


@blp.get("/readyz")
def readyz() -> Any:
    """The database answers."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means not ready
        db.session.rollback()
        return problem(503, "The database is not reachable.")
    return {"status": "ready", "database": db.engine.dialect.name}
