"""Settings, for owners: API keys (the secret shown once) and webhooks (deliveries, replay)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from advocacy.console.access import current_workspace, require_scope
from advocacy.console.rendering import form_with_errors, render_page
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.types import utcnow
from advocacy.webhooks import service as webhooks
from advocacy.workspaces import service as workspaces

bp = Blueprint("integrations", __name__)
DELIVERY_PAGE = 50


def _settings(status: int = 200, **overrides: object) -> ResponseReturnValue:
    from advocacy.console.settings import render_settings

    return render_settings(status, **overrides)


@bp.route("/keys", methods=["POST"])
@require_scope("admin")
def create_key() -> ResponseReturnValue:
    """Issue an API key with scopes; its secret is shown on this answer only."""
    from advocacy.console.settings import key_form

    form = key_form(formdata=request.form)
    if not form.validate():
        return _settings(400, key_form=form)
    try:
        issued = workspaces.create_api_key(
            db.session,
            workspace_id=current_workspace().id,
            name=form.name.data or "",
            scopes=list(form.scopes.data or []),
        )
    except DomainError as error:
        db.session.rollback()
        return _settings(error.status, key_form=form_with_errors(form, error))
    db.session.commit()
    return _settings(
        201,
        one_time_secret={"title": f"API key “{issued.key.name}”", "secret": issued.secret},
    )


@bp.route("/keys/<int:key_id>/revoke", methods=["POST"])
@require_scope("admin")
def revoke_key(key_id: int) -> ResponseReturnValue:
    """Revoke an API key: requests with it fail from now on."""
    workspaces.revoke_api_key(db.session, key_id=key_id, workspace_id=current_workspace().id)
    db.session.commit()
    flash("API key revoked.", "success")
    return redirect(url_for("console.settings.index") + "#keys")


@bp.route("/webhooks", methods=["POST"])
@require_scope("admin")
def create_webhook() -> ResponseReturnValue:
    """Subscribe a URL to events; its signing secret is shown on this answer only."""
    from advocacy.console.settings import webhook_form

    form = webhook_form(formdata=request.form)
    if not form.validate():
        return _settings(400, webhook_form=form)
    try:
        subscription = webhooks.create_subscription(
            db.session,
            workspace_id=current_workspace().id,
            url=form.url.data or "",
            event_types=list(form.event_types.data or []),
            description=form.description.data or None,
            allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"],
        )
    except DomainError as error:
        db.session.rollback()
        return _settings(error.status, webhook_form=form_with_errors(form, error))
    secret = subscription.secret
    db.session.commit()
    return _settings(
        201, one_time_secret={"title": f"Signing secret of {subscription.url}", "secret": secret}
    )


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
    flash("Webhook deleted.", "success")
    return redirect(url_for("console.settings.index") + "#webhooks")


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
