"""The Listening page: daily mention volume and negative share with alert days marked (chart
and table), the alerts with what drove them, and the strongest supporters and detractors.

Figures come from ``insights.service`` (the functions behind /api/v1/insights/*), over local
days of the workspace's time zone.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from advocacy.api.kpis import RangeArgsSchema
from advocacy.console.access import current_workspace, require_scope
from advocacy.console.rendering import render_page
from advocacy.extensions import db
from advocacy.insights import service as insights
from advocacy.types import utcnow
from advocacy.workspaces.settings import workspace_settings

bp = Blueprint("listening", __name__, url_prefix="/listening")

DEFAULT_DAYS = 90
VOICES = 10


@bp.route("/")
@require_scope("read")
def index() -> ResponseReturnValue:
    """Mention volume, negative share and alerts."""
    workspace = current_workspace()
    tz = workspace_settings(workspace).time_zone
    today = utcnow().astimezone(ZoneInfo(tz)).date()
    first, last = today - timedelta(days=DEFAULT_DAYS - 1), today
    errors: dict[str, list[str]] = {}
    raw = {
        "from": request.args.get("from") or first.isoformat(),
        "to": request.args.get("to") or last.isoformat(),
        "tz": tz,
    }
    try:
        args = RangeArgsSchema().load(raw)
        first, last = args["first"], args["last"]
    except ma.ValidationError as error:
        errors = {str(k): list(v) for k, v in error.normalized_messages().items()}
    days, alerts = insights.mention_alerts(
        db.session, workspace_id=workspace.id, first=first, last=last, tz=tz
    )
    voices = {
        polarity: insights.rank_voices(
            db.session,
            workspace_id=workspace.id,
            first=first,
            last=last,
            tz=tz,
            polarity=polarity,
            limit=VOICES,
        )
        for polarity in ("supporters", "detractors")
    }
    return render_page(
        "console/listening.html",
        first=first,
        last=last,
        tz=tz,
        errors=errors,
        days=days,
        alerts=alerts,
        supporters=voices["supporters"],
        detractors=voices["detractors"],
    )
