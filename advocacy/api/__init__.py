"""HTTP only: blueprints, schemas, auth. No business rules live here."""

from __future__ import annotations

from flask import Flask

from advocacy.api import advocates, customers, ingest, ops
from advocacy.errors import ProblemApi


def register_api(app: Flask) -> None:
    # One Api (and OpenAPI document) per app, so several apps can live in one process.
    api = ProblemApi(app)
    api.register_blueprint(customers.blp)
    api.register_blueprint(ingest.blp)
    api.register_blueprint(advocates.blp)
    app.register_blueprint(ops.blp)
