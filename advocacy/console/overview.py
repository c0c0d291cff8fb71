"""The Overview page, the console's home (``/``)."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from advocacy.console.access import current_workspace, require_scope
from advocacy.console.rendering import render_page

bp = Blueprint("overview", __name__)


@bp.route("/")
@require_scope("read")
def index() -> ResponseReturnValue:
    """Headline KPIs and what needs a person (built on this foundation)."""
    return render_page("console/overview.html", workspace=current_workspace())
