"""Settings, for owners: API keys (the secret shown once) and webhooks (deliveries, replay)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from advocacy.console.access import current_workspace, require_scope
from advocacy.console.forms import ApiKeyForm, WebhookForm
from advocacy.console.rendering import render_page
from advocacy.console.settings_page import (
    apply_form,
    back_to_settings,
    key_form,
    render_settings,
    webhook_form,
)
from advocacy.extensions import db
from advocacy.types import utcnow
from advocacy.webhooks import service as webhooks
from advocacy.workspaces import service as workspaces

bp = Blueprint("integrations", __name__)
DELIVERY_PAGE = 50


def _show_secret(one_time_secret: dict[str, Any]) -> ResponseReturnValue:
    """The page with a secret shown on this answer only."""
    return render_settings(201, one_time_secret=one_time_secret)


@bp.route("/keys", methods=["POST"])
@require_scope("admin")
def create_key() -> ResponseReturnValue:
    """Issue an API key with scopes; its secret is shown on this answer only."""

    def change(form: ApiKeyForm) -> dict[str, Any]:
        issued = workspaces.create_api_key(
            db.session,
            workspace_id=current_workspace().id,
            name=form.name.data or "",
            scopes=list(form.scopes.data or []),
        )
        return {"title": f"API key “{issued.key.name}”", "secret": issued.secret}

    return apply_form("key_form", key_form(formdata=request.form), change, _show_secret)


@bp.route("/keys/<int:key_id>/revoke", methods=["POST"])
@require_scope("admin")
def revoke_key(key_id: int) -> ResponseReturnValue:
    """Revoke an API key: requests with it fail from now on."""
    workspaces.revoke_api_key(db.session, key_id=key_id, workspace_id=current_workspace().id)
    db.session.commit()
    return back_to_settings("API key revoked.", "keys")


@bp.route("/webhooks", methods=["POST"])
@require_scope("admin")
def create_webhook() -> ResponseReturnValue:
    """Subscribe a URL to events; its signing secret is shown on this answer only."""

    def change(form: WebhookForm) -> dict[str, Any]:
        subscription = webhooks.create_subscription(
            db.session,
            workspace_id=current_workspace().id,
            url=form.url.data or "",
            event_types=list(form.event_types.data or []),
            description=form.description.data or None,
            allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"],
        )
        return {"title": f"Signing secret of {subscription.url}", "secret": subscription.secret}

    return apply_form("webhook_form", webhook_form(formdata=request.form), change, _show_secret)


@bp.route("/webhooks/<int:subscription_id>/delete", methods=["POST"])
@require_scope("admin")
def delete_webhook(subscription_id: int) -> ResponseReturnValue:
    """Delete a subscription: nothing more is sent to it."""
    webhooks.delete_subscription(
        db.session,
        workspace_id=current_workspace().id,
        subscription_id=subscription_id,
        now=utcnow(),
    )
    db.session.commit()
    return back_to_settings("Webhook deleted.", "webhooks")


@bp.route("/webhooks/<int:subscription_id>")
@require_scope("admin")
def webhook(subscription_id: int) -> ResponseReturnValue:
    """A subscription's latest deliveries; dead ones can be sent again."""
    workspace_id = current_workspace().id
    state = request.args.get("state") or None
    if state not in (None, "dead"):
        state = None
    return render_page(
        "console/webhook.html",
        fragment="deliveries",
        subscription=webhooks.get_subscription(
            db.session, workspace_id=workspace_id, subscription_id=subscription_id
        ),
        deliveries=webhooks.list_deliveries(
            db.session,
            workspace_id=workspace_id,
            subscription_id=subscription_id,
            state=state,
            limit=DELIVERY_PAGE,
            before=None,
        ),
        state=state,
    )


@bp.route("/webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/replay", methods=["POST"])
@require_scope("admin")
def replay(subscription_id: int, delivery_id: int) -> ResponseReturnValue:
    """Send a (dead) delivery again, with the same webhook-id."""
    webhooks.replay_delivery(
        db.session,
        workspace_id=current_workspace().id,
        subscription_id=subscription_id,
        delivery_id=delivery_id,
        now=utcnow(),
    )
    db.session.commit()
    flash("Delivery queued again.", "success")
    return redirect(url_for(".webhook", subscription_id=subscription_id))
