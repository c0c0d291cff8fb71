"""The Settings page: the workspace (time zone, brand), allowed domains, and (owners) staff,
invitations, API keys and webhooks (``settings_staff``, ``settings_integrations``).

Everyone may read the page; what changes anything needs the ``admin`` scope (owners).
Each form posts to its own view, which calls the service the API calls, commits and
sends the browser back to the page; a one-time secret is rendered once instead.
"""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from advocacy.console import settings_integrations, settings_staff
from advocacy.console.access import current_workspace, require_scope
from advocacy.console.forms import DomainsForm, WorkspaceSettingsForm
from advocacy.console.settings_page import (
    apply_form,
    back_to_settings,
    domains_form,
    render_settings,
    workspace_form,
)
from advocacy.extensions import db
from advocacy.workspaces import allowed_domains
from advocacy.workspaces import settings as workspace_settings

bp = Blueprint("settings", __name__, url_prefix="/settings")
bp.register_blueprint(settings_staff.bp)
bp.register_blueprint(settings_integrations.bp)


@bp.route("/")
@require_scope("read")
def index() -> ResponseReturnValue:
    """The workspace's settings."""
    return render_settings()


@bp.route("/workspace", methods=["POST"])
@require_scope("admin")
def update_workspace() -> ResponseReturnValue:
    """Change the time zone and brand."""

    def change(form: WorkspaceSettingsForm) -> None:
        workspace_settings.update_workspace_settings(
            db.session,
            workspace_id=current_workspace().id,
            changes={
                "time_zone": form.time_zone.data,
                "brand_name": form.brand_name.data or "",
                "brand_colour": form.brand_colour.data or "",
            },
        )

    form = workspace_form(formdata=request.form)
    return apply_form(
        "workspace_form", form, change, lambda _: back_to_settings("Workspace settings saved.")
    )


@bp.route("/domains", methods=["POST"])
@require_scope("admin")
def update_domains() -> ResponseReturnValue:
    """Replace the allowed domains."""

    def change(form: DomainsForm) -> None:
        lines = (form.domains.data or "").splitlines()
        allowed_domains.set_allowed_domains(
            db.session,
            workspace_id=current_workspace().id,
            domains=[line.strip() for line in lines if line.strip()],
        )

    form = domains_form(formdata=request.form)
    return apply_form(
        "domains_form", form, change, lambda _: back_to_settings("Allowed domains saved.")
    )
