"""HTTP only: blueprints, schemas, auth. No business rules live here."""

from __future__ import annotations

from flask import Flask

from advocacy.api import (
    advocates,
    campaigns,
    conversions,
    customers,
    docs,
    experiments,
    ingest,
    insights,
    kpis,
    links,
    ops,
    rewards,
    webhooks,
    workspace,
)
from advocacy.errors import ProblemApi
from advocacy.web import views as web


def register_api(app: Flask) -> None:
    # One Api (and OpenAPI document) per app, so several apps can live in one process.
    api = ProblemApi(app)
    api.register_blueprint(customers.blp)
    api.register_blueprint(ingest.blp)
    api.register_blueprint(advocates.blp)
    api.register_blueprint(campaigns.blp)
    api.register_blueprint(workspace.blp)
    api.register_blueprint(links.blp)
    api.register_blueprint(conversions.blp)
    api.register_blueprint(rewards.blp)
    api.register_blueprint(webhooks.blp)
    api.register_blueprint(kpis.blp)
    api.register_blueprint(insights.blp)
    api.register_blueprint(experiments.blp)
    app.register_blueprint(docs.blp)
    app.register_blueprint(ops.blp)
    app.register_blueprint(web.blp)  # public HTML pages, outside the OpenAPI document
