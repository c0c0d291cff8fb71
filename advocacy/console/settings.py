"""The Settings page: the workspace (time zone, brand), allowed domains, and (owners) staff,
invitations, API keys and webhooks (``settings_staff``, ``settings_integrations``).

Everyone may read the page; what changes anything needs the ``admin`` scope (owners).
Each form posts to its own view, which calls the service the API calls, commits and
sends the browser back to the page; a one-time secret is rendered once instead.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from advocacy.console import accounts, settings_integrations, settings_staff, tokens
from advocacy.console.access import current_principal, current_workspace, require_scope
from advocacy.console.forms import (
    ApiKeyForm,
    DomainsForm,
    InviteForm,
    WebhookForm,
    WorkspaceSettingsForm,
)
from advocacy.console.rendering import form_with_errors, render_page
from advocacy.errors import Unprocessable
from advocacy.extensions import db
from advocacy.webhooks import service as webhooks
from advocacy.webhooks.models import EVENT_TYPES
from advocacy.workspaces import allowed_domains
from advocacy.workspaces import service as workspaces
from advocacy.workspaces import settings as workspace_settings
from advocacy.workspaces.roles import ROLE_DESCRIPTIONS, ROLE_SCOPES

bp = Blueprint("settings", __name__, url_prefix="/settings")
bp.register_blueprint(settings_staff.bp)
bp.register_blueprint(settings_integrations.bp)

TEMPLATE = "console/settings.html"


def workspace_form(formdata: Any = None) -> WorkspaceSettingsForm:
    workspace = current_workspace()
    current = workspace_settings.workspace_settings(workspace)
    form = WorkspaceSettingsForm(
        formdata=formdata,
        data={
            "time_zone": current.time_zone,
            "brand_name": workspace.brand_name or "",
            "brand_colour": workspace.brand_colour or "",
        },
    )
    form.time_zone.choices = list(workspace_settings.time_zones())
    return form


def domains_form(formdata: Any = None) -> DomainsForm:
    domains = allowed_domains.get_allowed_domains(
        db.session, workspace_id=current_workspace().id
    ).domains
    return DomainsForm(formdata=formdata, data={"domains": "\n".join(domains)})


def key_form(formdata: Any = None) -> ApiKeyForm:
    form = ApiKeyForm(formdata=formdata)
    form.scopes.choices = {scope: scope for scope in workspaces.SCOPES}
    return form


def webhook_form(formdata: Any = None) -> WebhookForm:
    form = WebhookForm(formdata=formdata)
    form.event_types.choices = {name: name for name in EVENT_TYPES}
    return form


def render_settings(status: int = 200, **overrides: Any) -> ResponseReturnValue:
    """The whole page; ``overrides`` replace forms (with their errors) or add a secret."""
    workspace = current_workspace()
    is_owner = current_principal().allows("admin")
    context: dict[str, Any] = {
        "workspace": workspace,
        "brand": workspace_settings.workspace_settings(workspace),
        "allowed": allowed_domains.get_allowed_domains(db.session, workspace_id=workspace.id),
        "is_owner": is_owner,
        "role_descriptions": ROLE_DESCRIPTIONS,
        "role_scopes": ROLE_SCOPES,
        "workspace_form": workspace_form(),
        "domains_form": domains_form(),
    }
    if is_owner:
        context.update(
            staff=accounts.list_staff(db.session, workspace_id=workspace.id),
            invitations=tokens.list_invitations(db.session, workspace_id=workspace.id),
            keys=workspaces.list_api_keys(db.session, workspace_id=workspace.id),
            subscriptions=webhooks.list_subscriptions(db.session, workspace_id=workspace.id),
            invite_form=InviteForm(formdata=None),
            key_form=key_form(),
            webhook_form=webhook_form(),
            me=current_user.id,
        )
    context.update(overrides)
    return render_page(TEMPLATE, status=status, **context)


@bp.route("/")
@require_scope("read")
def index() -> ResponseReturnValue:
    """The workspace's settings."""
    return render_settings()


@bp.route("/workspace", methods=["POST"])
@require_scope("admin")
def update_workspace() -> ResponseReturnValue:
    """Change the time zone and brand."""
    form = workspace_form(formdata=request.form)
    if not form.validate():
        return render_settings(400, workspace_form=form)
    try:
        workspace_settings.update_workspace_settings(
            db.session,
            workspace_id=current_workspace().id,
            changes={
                "time_zone": form.time_zone.data,
                "brand_name": form.brand_name.data or "",
                "brand_colour": form.brand_colour.data or "",
            },
        )
    except Unprocessable as error:
        return render_settings(422, workspace_form=form_with_errors(form, error))
    db.session.commit()
    flash("Workspace settings saved.", "success")
    return redirect(url_for(".index"))


@bp.route("/domains", methods=["POST"])
@require_scope("admin")
def update_domains() -> ResponseReturnValue:
    """Replace the allowed domains."""
    form = domains_form(formdata=request.form)
    if not form.validate():
        return render_settings(400, domains_form=form)
    entries = [line.strip() for line in (form.domains.data or "").splitlines() if line.strip()]
    try:
        allowed_domains.set_allowed_domains(
            db.session, workspace_id=current_workspace().id, domains=entries
        )
    except Unprocessable as error:
        return render_settings(422, domains_form=form_with_errors(form, error))
    db.session.commit()
    flash("Allowed domains saved.", "success")
    return redirect(url_for(".index"))
