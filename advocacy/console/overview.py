"""The Overview page, the console's home (``/``): active campaigns against the previous
period, what needs a person, and the workspace's daily series (chart and table)."""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from advocacy.console.access import current_workspace, require_scope
from advocacy.console.rendering import render_page
from advocacy.errors import Unprocessable
from advocacy.extensions import db
from advocacy.kpis.overview import (
    HEADLINE,
    SERIES,
    local_today,
    needs_attention,
    workspace_overview,
)
from advocacy.types import utcnow

bp = Blueprint("overview", __name__)
PERIODS = (7, 28, 90)  # days compared with as many days before
DEFAULT_DAYS = 28


def _days() -> int:
    raw = request.args.get("days", str(DEFAULT_DAYS))
    if not raw.isdigit() or int(raw) not in PERIODS:
        choices = ", ".join(map(str, PERIODS))
        raise Unprocessable(f"Compare {choices} days.", errors={"days": [f"One of {choices}."]})
    return int(raw)


@bp.route("/")
@require_scope("read")
def index() -> ResponseReturnValue:
    """Headline KPIs against the previous period, and what needs a person."""
    workspace = current_workspace()
    days = _days()
    today = local_today(workspace.time_zone, utcnow())
    overview = workspace_overview(
        db.session, workspace_id=workspace.id, tz=workspace.time_zone, today=today, days=days
    )
    attention = needs_attention(
        db.session, workspace_id=workspace.id, tz=workspace.time_zone, today=today
    )
    return render_page(
        "console/overview.html",
        workspace=workspace,
        overview=overview,
        attention=attention,
        headline=HEADLINE,
        series_names=SERIES,
        days=days,
        periods=PERIODS,
    )
