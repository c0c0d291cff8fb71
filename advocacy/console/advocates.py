"""The Advocates page (placeholder until its page is built on this foundation)."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from advocacy.console.access import require_scope
from advocacy.console.rendering import render_page

bp = Blueprint("advocates", __name__, url_prefix="/advocates")


@bp.route("/")
@require_scope("read")
def index() -> ResponseReturnValue:
    """Advocates ranked by engagement and sentiment, with the reasons."""
    return render_page(
        "console/placeholder.html",
        title="Advocates",
        blurb="Advocates ranked by engagement and sentiment, with the reasons.",
    )
