"""The Settings page as rendered, its forms, and how a form's post is applied: shared by the
views of ``settings``, ``settings_staff`` and ``settings_integrations``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm

from advocacy.console import accounts, tokens
from advocacy.console.access import current_principal, current_workspace
from advocacy.console.forms import (
    ApiKeyForm,
    DomainsForm,
    InviteForm,
    WebhookForm,
    WorkspaceSettingsForm,
)
from advocacy.console.rendering import form_with_errors, render_page
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.webhooks import service as webhooks
from advocacy.webhooks.models import EVENT_TYPES
from advocacy.workspaces import allowed_domains
from advocacy.workspaces import service as workspaces
from advocacy.workspaces import settings as workspace_settings
from advocacy.workspaces.roles import ROLE_DESCRIPTIONS, ROLE_SCOPES

T = TypeVar("T")
F = TypeVar("F", bound=FlaskForm)

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


def apply_form(
    name: str,
    form: F,
    change: Callable[[F], T],
    then: Callable[[T], ResponseReturnValue],
) -> ResponseReturnValue:
    """Validate a posted form, apply it with ``change`` (which calls the service and returns
    what the answer shows, read before the commit), commit, and answer ``then(result)``.
    An invalid form, or one the service refuses, commits nothing: the page shows the form
    with its errors (under ``name``)."""
    if not form.validate():
        return render_settings(400, **{name: form})
    try:
        result = change(form)
    except DomainError as error:
        db.session.rollback()
        return render_settings(error.status, **{name: form_with_errors(form, error)})
    db.session.commit()
    return then(result)


def back_to_settings(message: str, section: str = "") -> ResponseReturnValue:
    """Say what was done (committed already), and send the browser back to the page, at
    ``section``."""
    flash(message, "success")
    return redirect(url_for("console.settings.index") + (f"#{section}" if section else ""))
