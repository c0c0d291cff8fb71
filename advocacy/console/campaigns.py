"""The Campaigns page (placeholder until its page is built on this foundation)."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from advocacy.console.access import require_scope
from advocacy.console.rendering import render_page

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")


@bp.route("/")
@require_scope("read")
def index() -> ResponseReturnValue:
    """Campaigns, their rewards, status and results."""
    return render_page(
        "console/placeholder.html",
        title="Campaigns",
        blurb="Campaigns, their rewards, status and results.",
    )
