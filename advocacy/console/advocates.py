"""The Advocates page: the ranking with its reasons, one person's page, and their links.

The list calls the ranking service the API calls (``browse_advocates`` over
``list_advocates``); the sliders re-rank with custom weights as the API's ``weights``
parameter does; links are issued by the API's link service.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from advocacy.advocates import service
from advocacy.advocates.browse import SORTS, browse_advocates
from advocacy.api.links import LinkRequestSchema, public_base_url
from advocacy.api.rewards import CustomerRewardsSchema
from advocacy.campaigns.models import Campaign
from advocacy.console import ranking
from advocacy.console.access import current_principal, current_workspace, require_scope
from advocacy.console.exports import csv_download
from advocacy.console.rendering import render_page
from advocacy.customers import profile
from advocacy.customers.service import get_customer
from advocacy.errors import Conflict, NotFound, Unprocessable
from advocacy.extensions import db
from advocacy.links import rules as link_rules
from advocacy.links.service import issue_link
from advocacy.rewards.lifecycle import customer_rewards
from advocacy.types import utcnow

bp = Blueprint("advocates", __name__, url_prefix="/advocates")
CHANNELS = ("email", "sms", "whatsapp", "x", "facebook", "copy")


def _ranked_page(query: dict[str, Any]) -> dict[str, Any]:
    workspace = current_workspace()
    try:
        snapshot, views, next_cursor = browse_advocates(
            db.session,
            workspace_id=workspace.id,
            objective=query["objective"],
            weights=query["weights"],
            eligible=ranking.ELIGIBILITY[query["show"]],
            search=query["q"] or None,
            sort=query["sort"],
            limit=ranking.PAGE_SIZE,
            cursor=query["cursor"],
        )
    except NotFound:
        snapshot, views, next_cursor = None, [], None
    names = profile.customer_names(
        db.session, workspace_id=workspace.id, external_ids=[v.external_id for v in views]
    )
    return {
        "snapshot": snapshot,
        "views": views,
        "names": names,
        "next_cursor": next_cursor,
        "figure_names": ranking.figure_names(views),
        "component_names": ranking.component_names(views),
    }


def _page_args(query: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Query-string arguments for a link to this list with ``changes``."""
    args: dict[str, Any] = {
        "objective": query["objective"],
        "show": query["show"],
        "q": query["q"] or None,
        "sort": query["sort"],
        "cursor": query["cursor"],
    }
    if query["custom"]:
        args["custom"] = "on"
        args.update({f"w_{k}": v for k, v in query["sliders"].items()})
    args.update(changes)
    return {k: v for k, v in args.items() if v not in (None, "")}


@bp.route("/")
@require_scope("read")
def index() -> ResponseReturnValue:
    """Advocates in rank order, with components, reasons and eligibility."""
    query = ranking.parse_query(request.args)
    return render_page(
        "console/advocates.html",
        fragment="results",
        query=query,
        page_args=lambda **c: _page_args(query, **c),
        sorts=SORTS,
        objectives=service.OBJECTIVES,
        eligibility=list(ranking.ELIGIBILITY),
        slider_max=ranking.SLIDER_MAX,
        label=ranking.label,
        figures=ranking.figures,
        may_select=current_principal().allows("campaigns"),
        **_ranked_page(query),
    )


@bp.route("/export.csv")
@require_scope("read")
def export() -> ResponseReturnValue:
    """The rows the page shows with the same filters, as CSV."""
    query = ranking.parse_query(request.args)
    page = _ranked_page(query)
    rows, columns = ranking.csv_rows(page["views"], page["names"])
    return csv_download(rows, columns, f"advocates-{query['objective']}.csv")


@bp.route("/<string:external_id>")
@require_scope("read")
def person(external_id: str) -> ResponseReturnValue:
    """One person: ranking explained, timeline, listeners, links, referrals, rewards."""
    workspace = current_workspace()
    customer = get_customer(db.session, workspace_id=workspace.id, external_id=external_id)
    objective = request.args.get("objective", "conversion")
    if objective not in service.OBJECTIVES:
        objective = "conversion"
    try:
        snapshot, view = service.get_advocate(
            db.session, workspace_id=workspace.id, external_id=external_id, objective=objective
        )
    except NotFound:
        snapshot, view = None, None
    whose: dict[str, Any] = {"workspace_id": workspace.id, "customer": customer}
    enrollments = profile.customer_enrollments(db.session, **whose)
    now = utcnow()
    linkable = [
        campaign
        for enrollment, campaign in enrollments
        if enrollment.withdrawn_at is None and link_rules.issuance_refusal(campaign, now) is None
    ]
    return render_page(
        "console/advocate.html",
        customer=customer,
        objective=objective,
        objectives=service.OBJECTIVES,
        snapshot=snapshot,
        view=view,
        figures=ranking.figures(view) if view else {},
        label=ranking.label,
        timeline=profile.customer_timeline(db.session, **whose),
        listeners=profile.customer_listeners(db.session, **whose),
        enrollments=enrollments,
        linkable=linkable,
        channels=CHANNELS,
        links=profile.customer_links(db.session, **whose),
        base_url=public_base_url(),
        referrals=profile.customer_referrals(db.session, **whose),
        rewards=CustomerRewardsSchema().dump(
            customer_rewards(
                db.session,
                workspace_id=workspace.id,
                external_id=external_id,
                limit=20,
                cursor=None,
            )
        ),
        may_issue=current_principal().allows("write"),
    )


class IssueLinkForm(LinkRequestSchema):
    """The API's link request, plus the campaign the console form names."""

    class Meta:
        unknown = ma.EXCLUDE

    campaign_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))


@bp.route("/<string:external_id>/links", methods=["POST"])
@require_scope("write")
def issue(external_id: str) -> ResponseReturnValue:
    """Issue (or show again) the person's referral link for a campaign and channel."""
    workspace = current_workspace()
    form = {k: v for k, v in request.form.items() if v != "" and k != "csrf_token"}
    form["advocate"] = external_id
    target = url_for(".person", external_id=external_id)
    try:
        args = IssueLinkForm().load(form)
        config = current_app.config
        issued = issue_link(
            db.session,
            workspace_id=workspace.id,
            now=utcnow(),
            max_age_days=config["LINK_MAX_AGE_DAYS"],
            signing_keys=config["REFERRAL_SIGNING_KEYS"],
            **args,
        )
    except ma.ValidationError as exc:
        messages = exc.normalized_messages()
        fields = ", ".join(f"{k}: {' '.join(map(str, v))}" for k, v in messages.items())
        flash(f"The link was not issued ({fields}).", "error")
        return redirect(target)
    except (Unprocessable, Conflict) as exc:
        db.session.rollback()
        flash(f"The link was not issued: {exc.detail}", "error")
        return redirect(target)
    url = f"{public_base_url()}/r/{issued.link.token}"
    db.session.commit()
    verb = "Issued" if issued.created else "Already issued"
    flash(f"{verb}: {url}", "success")
    return redirect(target)


def campaign_choices(workspace_id: int) -> list[Campaign]:
    """Campaigns that can still take advocates, newest first."""
    return list(
        db.session.scalars(
            select(Campaign)
            .where(Campaign.workspace_id == workspace_id, Campaign.status != "ended")
            .order_by(Campaign.id.desc())
            .limit(100)
        )
    )
