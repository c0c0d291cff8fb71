"""The Campaigns page: the list; create and edit with a live invitation preview; status
changes after a confirmation step; the audit trail (``campaign_report``: a campaign's page).

Validation is the API's: the API's marshmallow schema, then the campaigns service (URLs
against the allow-list, two-sided rewards, disclosure, ...). Writes pass ``staff_actor()``
so the audit trail names the staff member.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from advocacy.campaigns import service
from advocacy.campaigns.models import (
    ATTRIBUTION_MODELS,
    OBJECTIVES,
    REWARD_KINDS,
    TRIGGERS,
    Campaign,
)
from advocacy.campaigns.rules import TRANSITIONS, campaign_is_live
from advocacy.console import campaign_form, campaign_report
from advocacy.console.access import current_principal, current_workspace, require_scope, staff_actor
from advocacy.console.models import StaffUser
from advocacy.console.rendering import render_page
from advocacy.errors import Conflict, Unprocessable
from advocacy.extensions import db
from advocacy.types import utcnow
from advocacy.web import messages
from advocacy.workspaces.models import ApiKey
from advocacy.workspaces.settings import workspace_settings

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")
bp.register_blueprint(campaign_report.bp)

LIST_TEMPLATE = "console/campaigns.html"
FORM_TEMPLATE = "console/campaign_form.html"
PAGE_SIZE = 50
AUDIT_PAGE = 50  # entries per page of the audit trail, newest first
STATUS_VERBS = {"active": "Activate", "paused": "Pause", "ended": "End"}
STATUS_CONSEQUENCES = {
    "active": "Its links start working and conversions earn rewards.",
    "paused": "Its links show a 'paused' page; nothing earns a reward until it is active again.",
    "ended": "Final: links stop working, and its rewards and trigger can never change again.",
}
CHOICES = {
    "objectives": OBJECTIVES,
    "reward_kinds": REWARD_KINDS,
    "triggers": TRIGGERS,
    "attribution_models": ATTRIBUTION_MODELS,
}


def _tz() -> str:
    return workspace_settings(current_workspace()).time_zone


def offer_words(campaign: Campaign) -> dict[str, str | None]:
    """Both rewards in words, as the invitation page writes them."""
    words = messages.texts(messages.DEFAULT_LANGUAGE)
    return {
        side: messages.reward(
            getattr(campaign, f"{side}_reward_kind"),
            getattr(campaign, f"{side}_reward_amount"),
            getattr(campaign, f"{side}_reward_currency"),
            messages.DEFAULT_LANGUAGE,
            words,
        )
        for side in campaign_form.SIDES
    }


@bp.route("/")
@require_scope("read")
def index() -> ResponseReturnValue:
    """Campaigns, newest first."""
    items, cursor = service.list_campaigns(
        db.session,
        workspace_id=current_workspace().id,
        limit=PAGE_SIZE,
        cursor=request.args.get("cursor") or None,
    )
    now = utcnow()
    return render_page(
        LIST_TEMPLATE,
        fragment="rows",
        campaigns=[(c, campaign_is_live(c, now), offer_words(c)) for c in items],
        next_cursor=cursor,
        can_edit=current_principal().allows("campaigns"),
    )


def _render_form(
    *, values: dict[str, Any], errors: dict[str, list[str]], campaign: Campaign | None, status: int
) -> ResponseReturnValue:
    payload = campaign_form.form_payload(values, _tz())
    return render_page(
        FORM_TEMPLATE,
        status=status,
        values=values,
        errors=errors,
        campaign=campaign,
        tz=_tz(),
        choices=CHOICES,
        preview=_preview_context(payload),
    )


def _preview_context(payload: dict[str, Any]) -> dict[str, Any]:
    offer = campaign_form.preview_offer(payload)
    workspace = current_workspace()
    return {
        "page": messages.invitation_texts(offer, "Alex", messages.DEFAULT_LANGUAGE),
        "brand": workspace_settings(workspace),
        "workspace_id": workspace.id,
    }


@bp.route("/new")
@require_scope("campaigns")
def new() -> ResponseReturnValue:
    """An empty campaign form."""
    blank = {"objective": "conversion", "trigger_event": "purchase", "inviter_reward_kind": ""}
    return _render_form(values=blank, errors={}, campaign=None, status=200)


@bp.route("/", methods=["POST"])
@require_scope("campaigns")
def create() -> ResponseReturnValue:
    """Create a draft campaign from the form."""
    values = request.form.to_dict()
    try:
        loaded = campaign_form.validated(campaign_form.form_payload(values, _tz()), partial=False)
        campaign = service.create_campaign(
            db.session, workspace_id=current_workspace().id, values=loaded, **staff_actor()
        )
    except Unprocessable as error:
        db.session.rollback()
        errors = campaign_form.field_errors(error.errors or {"form": [error.detail]})
        return _render_form(values=values, errors=errors, campaign=None, status=422)
    db.session.commit()
    flash(f"Campaign “{campaign.name}” created as a draft.", "success")
    return redirect(url_for("console.campaigns.report.show", campaign_id=campaign.id))


def _campaign(campaign_id: int) -> Campaign:
    return service.get_campaign(
        db.session, workspace_id=current_workspace().id, campaign_id=campaign_id
    )


@bp.route("/<int:campaign_id>/edit")
@require_scope("campaigns")
def edit(campaign_id: int) -> ResponseReturnValue:
    """The form filled with the campaign's settings, and its audit trail."""
    campaign = _campaign(campaign_id)
    values = campaign_form.form_values(campaign, _tz())
    return _render_form(values=values, errors={}, campaign=campaign, status=200)


def _change(campaign: Campaign, payload: dict[str, Any]) -> None:
    """Validate a partial change with the API's schema and apply it as the staff member."""
    service.update_campaign(
        db.session,
        workspace_id=current_workspace().id,
        campaign_id=campaign.id,
        changes=campaign_form.validated(payload, partial=True),
        **staff_actor(),
    )


@bp.route("/<int:campaign_id>/edit", methods=["POST"])
@require_scope("campaigns")
def update(campaign_id: int) -> ResponseReturnValue:
    """Save the form's changes (rewards, URLs and disclosure changes are audited)."""
    campaign = _campaign(campaign_id)
    values = request.form.to_dict()
    try:
        _change(campaign, campaign_form.form_payload(values, _tz()))
    except (Unprocessable, Conflict) as error:
        db.session.rollback()
        errors = campaign_form.field_errors(error.errors or {"form": [error.detail]})
        campaign = _campaign(campaign_id)
        return _render_form(values=values, errors=errors, campaign=campaign, status=422)
    db.session.commit()
    flash("Campaign saved.", "success")
    return redirect(url_for("console.campaigns.report.show", campaign_id=campaign_id))


@bp.route("/preview", methods=["POST"])
@require_scope("campaigns")
def preview() -> ResponseReturnValue:
    """The invitation page as the form stands (an htmx fragment)."""
    payload = campaign_form.form_payload(request.form.to_dict(), _tz())
    return render_page(FORM_TEMPLATE, fragment="preview", preview=_preview_context(payload))


@bp.route("/<int:campaign_id>/status/<target>")
@require_scope("campaigns")
def confirm_status(campaign_id: int, target: str) -> ResponseReturnValue:
    """The confirmation step before a status change."""
    campaign = _campaign(campaign_id)
    if target not in TRANSITIONS.get(campaign.status, frozenset()):
        abort(404)
    return render_page(
        "console/campaign_status.html",
        campaign=campaign,
        target=target,
        verb=STATUS_VERBS[target],
        consequence=STATUS_CONSEQUENCES[target],
    )


@bp.route("/<int:campaign_id>/status", methods=["POST"])
@require_scope("campaigns")
def change_status(campaign_id: int) -> ResponseReturnValue:
    """Change the status (confirmed); a refused transition is shown, not applied."""
    target = request.form.get("status", "")
    campaign = _campaign(campaign_id)
    try:
        _change(campaign, {"status": target})
    except (Unprocessable, Conflict) as error:
        db.session.rollback()
        flash(f"Status not changed: {error.detail}", "error")
        return redirect(url_for("console.campaigns.report.show", campaign_id=campaign_id))
    db.session.commit()
    flash(f"Campaign is now {target}.", "success")
    return redirect(url_for("console.campaigns.report.show", campaign_id=campaign_id))


def actor_names(entries: list[Any]) -> dict[tuple[str, int], str]:
    """Who acted, for audit entries and reward histories: staff emails and key names."""
    staff = {e.get("staff_user_id") if isinstance(e, dict) else e.staff_user_id for e in entries}
    keys = {e.get("api_key_id") if isinstance(e, dict) else e.api_key_id for e in entries}
    names: dict[tuple[str, int], str] = {}
    staff.discard(None)
    keys.discard(None)
    if staff:
        for user_id, email in db.session.execute(
            select(StaffUser.id, StaffUser.email).where(StaffUser.id.in_(staff))
        ):
            names[("staff", user_id)] = email
    if keys:
        for key_id, name in db.session.execute(
            select(ApiKey.id, ApiKey.name).where(
                ApiKey.id.in_(keys), ApiKey.workspace_id == current_workspace().id
            )
        ):
            names[("key", key_id)] = f"API key “{name}”"
    return names


@bp.route("/<int:campaign_id>/audit")
@require_scope("read")
def audit(campaign_id: int) -> ResponseReturnValue:
    """Who changed rewards, status, URLs and disclosure, when, from what to what."""
    campaign = _campaign(campaign_id)
    cursor = request.args.get("cursor") or None
    entries, older = service.list_audit(
        db.session,
        workspace_id=current_workspace().id,
        campaign_id=campaign.id,
        limit=AUDIT_PAGE,
        cursor=cursor,
        newest_first=True,
    )
    return render_page(
        "console/campaign_audit.html",
        campaign=campaign,
        entries=entries,
        names=actor_names(entries),
        tz=_tz(),
        older=older,
        paged=cursor is not None,
    )
