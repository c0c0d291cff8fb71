"""Referral links: issue an advocate's link for a campaign (idempotent), read one, revoke one."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView

from advocacy.api.auth import ApiBlueprint
from advocacy.api.common import commit_in_workspace, in_workspace
from advocacy.extensions import db
from advocacy.fields import ExternalId, Slug, Text
from advocacy.links import service
from advocacy.links.service import IssuedLink
from advocacy.types import utcnow

blp = ApiBlueprint("links", __name__, url_prefix="/api/v1", description="Referral links")


class LinkRequestSchema(ma.Schema):
    advocate = ExternalId(
        required=True, metadata={"description": "External id of an enrolled advocate"}
    )
    channel = Slug(
        required=True,
        metadata={"description": "Where the link is shared: email, sms, whatsapp, x, copy, ..."},
    )
    invitee = Text(
        max_length=320,
        min_length=1,
        load_default=None,
        metadata={
            "description": "A personal invitation: a customer's external id (tried first) "
            "or an email address"
        },
    )


_LINK_COLUMNS = ("id", "campaign_id", "channel", "token", "created_at", "expires_at", "revoked_at")


class LinkSchema(ma.Schema):
    id = ma.fields.Integer()
    campaign_id = ma.fields.Integer()
    advocate = ma.fields.String()
    channel = ma.fields.String()
    invitee = ma.fields.String(
        allow_none=True, metadata={"description": "Customer id or normalised email"}
    )
    token = ma.fields.String()
    url = ma.fields.String(metadata={"description": "/r/<token>: records the click, redirects"})
    invitation_url = ma.fields.String(
        metadata={"description": "/i/<token>: the invitation page, whose button leads to url"}
    )
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)

    @ma.pre_dump
    def _from_issued(self, issued: IssuedLink, **_: Any) -> dict[str, Any]:
        link, base = issued.link, public_base_url()
        return {
            **{name: getattr(link, name) for name in _LINK_COLUMNS},
            "advocate": issued.advocate,
            "invitee": issued.invitee,
            "url": f"{base}/r/{link.token}",
            "invitation_url": f"{base}/i/{link.token}",
        }


def public_base_url() -> str:
    """Where customers reach the service: PUBLIC_BASE_URL, else this request's host."""
    configured = current_app.config.get("PUBLIC_BASE_URL")
    return str(configured) if configured else request.host_url.rstrip("/")


@blp.route("/campaigns/<int:campaign_id>/links")
class CampaignLinks(MethodView):
    @blp.requires("write")
    @blp.arguments(LinkRequestSchema)
    @blp.response(201, LinkSchema)
    @blp.alt_response(200, schema=LinkSchema, description="The same request came before")
    @blp.problem_response(404, "No such campaign in this workspace")
    @blp.problem_response(409, "Campaign not live, advocate withdrawn, or the link was revoked")
    @blp.problem_response(422, "Unknown or not enrolled advocate, or an unusable invitee")
    def post(self, args: dict[str, Any], campaign_id: int) -> Any:
        """Get an advocate's referral link for a channel, created on the first request."""
        config = current_app.config
        issued = commit_in_workspace(
            service.issue_link,
            campaign_id=campaign_id,
            now=utcnow(),
            max_age_days=config["LINK_MAX_AGE_DAYS"],
            signing_keys=config["REFERRAL_SIGNING_KEYS"],
            **args,
        )
        return issued, 201 if issued.created else 200


@blp.route("/links/<int:link_id>")
class LinkResource(MethodView):
    @blp.endpoint("read", LinkSchema, problems={404: "No such link in this workspace"})
    def get(self, link_id: int) -> IssuedLink:
        """Read one referral link."""
        link = in_workspace(service.get_link, link_id=link_id)
        return IssuedLink(
            link,
            created=False,
            advocate=service.describe_advocate(db.session, link=link),
            invitee=service.describe_invitee(db.session, link=link),
        )

    @blp.endpoint("write", status=204, problems={404: "No such link in this workspace"})
    def delete(self, link_id: int) -> None:
        """Revoke a link: from now on it shows a friendly 410 page instead of redirecting."""
        commit_in_workspace(service.revoke_link, link_id=link_id, now=utcnow())
