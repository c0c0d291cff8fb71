"""A campaign's page: KPI series (chart and table) in the workspace's time zone, funnel,
totals, the advocates' leaderboard, the experiment's results, and CSV of what is shown.

Every figure comes from the functions the API's KPI and experiment endpoints call
(``kpis.service``, ``kpis.advocates``, ``experiments.service``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue

from advocacy.api.kpis import KpiArgsSchema
from advocacy.campaigns import service as campaigns
from advocacy.campaigns.models import Campaign
from advocacy.campaigns.rules import TRANSITIONS
from advocacy.console import figures
from advocacy.console.access import current_principal, current_workspace, require_scope
from advocacy.console.rendering import is_htmx, render_page
from advocacy.csvexport import csv_text
from advocacy.errors import NotFound
from advocacy.experiments.service import experiment_results
from advocacy.extensions import db
from advocacy.kpis import service as kpis
from advocacy.kpis.advocates import SORTABLE, advocate_kpis
from advocacy.kpis.flat import flat_rows
from advocacy.types import utcnow
from advocacy.workspaces.settings import workspace_settings

bp = Blueprint("report", __name__)

figures.register(bp)

TEMPLATE = "console/campaign.html"
DEFAULT_DAYS = 30
WEEKLY_BEYOND_DAYS = 92
LEADERBOARD_SIZE = 50
DEFAULT_SORT = "-conversions"
LEADERBOARD_COLUMNS = (
    ("advocate", "Advocate"),
    ("invites", "Invites"),
    ("clicks", "Clicks"),
    ("unique_visitors", "Unique visitors"),
    ("signups", "Sign-ups"),
    ("conversions", "Conversions"),
    ("revenue", "Revenue"),
    ("reward_cost", "Reward cost"),
    ("roi", "ROI"),
)


@dataclass(frozen=True)
class Report:
    """The period the page shows, as chosen (or defaulted), and any refusal of the choice."""

    first: date
    last: date
    granularity: str
    tz: str
    sort: str
    errors: dict[str, list[str]]

    def query(self, **changes: str) -> dict[str, str]:
        args = {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "granularity": self.granularity,
            "sort": self.sort,
        }
        return {**args, **changes}


def default_range(campaign: Campaign | None, today: date, tz: str) -> tuple[date, date, str]:
    """The campaign's running days (up to today) when it has dates, else the last 30 days;
    by week beyond three months."""
    zone = ZoneInfo(tz)
    last, first = today, today - timedelta(days=DEFAULT_DAYS - 1)
    if campaign is not None and campaign.starts_at is not None:
        first = min(campaign.starts_at.astimezone(zone).date(), today)
        if campaign.ends_at is not None:
            end = (campaign.ends_at - timedelta(microseconds=1)).astimezone(zone).date()
            last = max(min(end, today), first)
    return first, last, "day" if (last - first).days <= WEEKLY_BEYOND_DAYS else "week"


def chosen_report(campaign: Campaign | None = None) -> Report:
    """The range and granularity of the query string, checked by the API's own schema."""
    tz = workspace_settings(current_workspace()).time_zone
    first, last, granularity = default_range(campaign, utcnow().astimezone(ZoneInfo(tz)).date(), tz)
    raw = {
        "from": request.args.get("from") or first.isoformat(),
        "to": request.args.get("to") or last.isoformat(),
        "granularity": request.args.get("granularity") or granularity,
        "tz": tz,
    }
    sort = request.args.get("sort") or DEFAULT_SORT
    if sort.lstrip("-") not in SORTABLE:
        sort = DEFAULT_SORT
    try:
        args = KpiArgsSchema().load(raw)
    except ma.ValidationError as error:
        errors = {str(k): list(v) for k, v in error.normalized_messages().items()}
        return Report(first, last, granularity, tz, sort, errors)
    return Report(args["first"], args["last"], args["granularity"], tz, sort, {})


def _campaign(campaign_id: int) -> Campaign:
    return campaigns.get_campaign(
        db.session, workspace_id=current_workspace().id, campaign_id=campaign_id
    )


def _experiment(workspace_id: int, campaign_id: int) -> dict[str, Any] | None:
    try:
        return experiment_results(db.session, workspace_id=workspace_id, campaign_id=campaign_id)
    except NotFound:
        return None


def _leaderboard(workspace_id: int, campaign_id: int, report: Report) -> Any:
    return advocate_kpis(
        db.session,
        workspace_id=workspace_id,
        campaign_id=campaign_id,
        first=report.first,
        last=report.last,
        tz=report.tz,
        sort=report.sort,
        limit=LEADERBOARD_SIZE,
    )


@bp.route("/<int:campaign_id>")
@require_scope("read")
def show(campaign_id: int) -> ResponseReturnValue:
    """The campaign's results over the chosen local days (the leaderboard alone for htmx)."""
    workspace_id = current_workspace().id
    campaign = _campaign(campaign_id)
    report = chosen_report(campaign)
    leaderboard = _leaderboard(workspace_id, campaign_id, report)
    if is_htmx():  # a re-sort: only the leaderboard is swapped, so only it is counted
        return render_page(
            TEMPLATE,
            fragment="leaderboard",
            campaign=campaign,
            report=report,
            leaderboard=leaderboard,
            columns=LEADERBOARD_COLUMNS,
        )
    figures = kpis.campaign_kpis(
        db.session,
        workspace_id=workspace_id,
        campaign_id=campaign_id,
        first=report.first,
        last=report.last,
        granularity=report.granularity,
        tz=report.tz,
    )
    return render_page(
        TEMPLATE,
        campaign=campaign,
        report=report,
        kpis=figures,
        series=list(zip(figures.periods, figures.series, strict=True)),
        rewards_earned=kpis.rewards_earned(db.session, campaign=campaign, periods=figures.periods),
        leaderboard=leaderboard,
        columns=LEADERBOARD_COLUMNS,
        experiment=_experiment(workspace_id, campaign_id),
        transitions=sorted(TRANSITIONS.get(campaign.status, frozenset())),
        can_edit=current_principal().allows("campaigns"),
    )


def _csv(rows: list[dict[str, Any]], filename: str) -> Response:
    body = csv_text(rows, list(rows[0]) if rows else ["advocate"])
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/<int:campaign_id>/kpis.csv")
@require_scope("read")
def export_series(campaign_id: int) -> ResponseReturnValue:
    """The series and totals on the page, as CSV."""
    report = chosen_report(_campaign(campaign_id))
    figures = kpis.campaign_kpis(
        db.session,
        workspace_id=current_workspace().id,
        campaign_id=campaign_id,
        first=report.first,
        last=report.last,
        granularity=report.granularity,
        tz=report.tz,
    )
    return _csv(kpis.as_csv_rows(figures), f"campaign-{campaign_id}-kpis.csv")


@bp.route("/<int:campaign_id>/advocates.csv")
@require_scope("read")
def export_leaderboard(campaign_id: int) -> ResponseReturnValue:
    """The leaderboard rows on the page (same period, order and length), as CSV."""
    report = chosen_report(_campaign(campaign_id))
    page = _leaderboard(current_workspace().id, campaign_id, report)
    return _csv(flat_rows(page.items), f"campaign-{campaign_id}-advocates.csv")
