"""The Settings page: staff and invitations, API keys, webhooks, domains, time zone, brand."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from advocacy.console.access import require_scope
from advocacy.console.rendering import render_page

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.route("/")
@require_scope("read")
def index() -> ResponseReturnValue:
    """The workspace's settings."""
    return render_page(
        "console/placeholder.html", title="Settings", blurb="Staff, API keys, webhooks."
    )
