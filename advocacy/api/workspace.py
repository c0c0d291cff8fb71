"""The calling key's workspace: the domains campaigns may send people to, its time zone and
brand."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from advocacy.api.auth import ApiBlueprint
from advocacy.api.common import commit_in_workspace, in_workspace
from advocacy.fields import Text
from advocacy.workspaces import allowed_domains, settings

blp = ApiBlueprint(
    "workspace", __name__, url_prefix="/api/v1/workspace", description="Workspace settings"
)

MATCHING = (
    "'shop.example' allows exactly that host (port 443); '*.shop.example' allows its "
    "subdomains (not shop.example itself); 'shop.example:8443' allows that port. Hosts are "
    "compared in ASCII (IDNA/punycode) form."
)


class AllowedDomainsArgsSchema(ma.Schema):
    domains = ma.fields.List(
        Text(min_length=1, max_length=260),
        required=True,
        validate=ma.validate.Length(max=100),
        metadata={"description": "Replaces the list. " + MATCHING},
    )


class AllowedDomainsSchema(ma.Schema):
    domains = ma.fields.List(ma.fields.String(), metadata={"description": "Normalised entries"})
    campaigns_outside = ma.fields.List(
        ma.fields.Integer(),
        metadata={
            "description": "Ids of campaigns (not ended) whose landing or fallback URL the list "
            "no longer allows: they keep their URLs, but links will not redirect there"
        },
    )


@blp.route("/allowed-domains")
class AllowedDomains(MethodView):
    @blp.endpoint("read", AllowedDomainsSchema)
    def get(self) -> Any:
        """The domains landing and fallback URLs may point to."""
        return in_workspace(allowed_domains.get_allowed_domains)

    @blp.endpoint("admin", AllowedDomainsSchema, body=AllowedDomainsArgsSchema)
    def put(self, args: dict[str, Any]) -> Any:
        """Replace the allowed domains (admin keys only)."""
        return commit_in_workspace(allowed_domains.set_allowed_domains, domains=args["domains"])


class SettingsSchema(ma.Schema):
    time_zone = ma.fields.String(
        metadata={"description": "IANA zone in which dates are shown and KPI days bucketed"}
    )
    brand_name = ma.fields.String(
        metadata={"description": "Shown on invitation pages (default: the workspace name)"}
    )
    brand_colour = ma.fields.String(metadata={"description": "#rrggbb, for invitation pages"})


class SettingsArgsSchema(ma.Schema):
    time_zone = Text(max_length=64, metadata={"description": "e.g. Europe/Berlin"})
    brand_name = Text(max_length=200, metadata={"description": "Empty: the workspace name"})
    brand_colour = Text(max_length=7, metadata={"description": "#rrggbb; empty: the default"})


@blp.route("/settings")
class Settings(MethodView):
    @blp.endpoint("read", SettingsSchema)
    def get(self) -> Any:
        """The workspace's time zone and brand."""
        return in_workspace(settings.get_workspace_settings)

    @blp.endpoint(
        "admin",
        SettingsSchema,
        body=SettingsArgsSchema,
        problems={422: "Unknown time zone or a malformed colour"},
    )
    def patch(self, args: dict[str, Any]) -> Any:
        """Change the time zone or brand (admin keys only)."""
        return commit_in_workspace(settings.update_workspace_settings, changes=args)
