"""The Listening page (placeholder until its page is built on this foundation)."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from advocacy.console.access import require_scope
from advocacy.console.rendering import render_page

bp = Blueprint("listening", __name__, url_prefix="/listening")


@bp.route("/")
@require_scope("read")
def index() -> ResponseReturnValue:
    """Mention volume, negative share and alerts."""
    return render_page(
        "console/placeholder.html",
        title="Listening",
        blurb="Mention volume, negative share and alerts.",
    )
