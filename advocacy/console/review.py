"""The Review page (placeholder until its page is built on this foundation)."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from advocacy.console.access import require_scope
from advocacy.console.rendering import render_page

bp = Blueprint("review", __name__, url_prefix="/review")


@bp.route("/")
@require_scope("rewards")
def index() -> ResponseReturnValue:
    """Held rewards waiting for a decision."""
    return render_page(
        "console/placeholder.html", title="Review", blurb="Held rewards waiting for a decision."
    )
