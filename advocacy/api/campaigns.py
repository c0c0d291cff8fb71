"""Campaigns: settings and status, their audit trail, and the advocates enrolled."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from flask.views import MethodView

from advocacy.api.auth import ApiBlueprint, current_principal
from advocacy.api.common import (
    NO_CAMPAIGN,
    PageArgsSchema,
    commit_in_workspace,
    in_workspace,
    page_schema,
    workspace_page,
)
from advocacy.api.enrollment_schemas import (
    EnrollArgsSchema,
    EnrollmentListArgsSchema,
    EnrollmentPageSchema,
    EnrollReportSchema,
)
from advocacy.campaigns import enrollments, service
from advocacy.campaigns.models import (
    ATTRIBUTION_MODELS,
    OBJECTIVES,
    REWARD_KINDS,
    STATUSES,
    TRIGGERS,
)
from advocacy.campaigns.rules import campaign_is_live
from advocacy.campaigns.urls import MAX_URL_LENGTH
from advocacy.customers.schemas import LOCALE
from advocacy.extensions import db
from advocacy.fields import MAX_INT32, MAX_INT63, Count, Currency, Text, Timestamp
from advocacy.types import utcnow

blp = ApiBlueprint(
    "campaigns", __name__, url_prefix="/api/v1/campaigns", description="Campaigns and enrollment"
)

MAX_TRANSLATION_BYTES = 16_384
MONEY_KINDS = ("credit", "coupon")
URL_DOC = "https on a domain of the workspace's allow-list; stored normalised"


# --- input ----------------------------------------------------------------


class RewardSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(REWARD_KINDS))
    amount = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=1, max=MAX_INT63),
        metadata={"description": "Minor units (cents) for credit and coupon; points for points"},
    )
    currency = Currency(
        load_default=None, allow_none=True, metadata={"description": "Credit and coupon only"}
    )

    @ma.validates_schema
    def _currency_for_money(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("kind") in MONEY_KINDS and data.get("currency") is None:
            raise ma.ValidationError("Required for a credit or coupon reward.", "currency")
        if data.get("kind") == "points" and data.get("currency") is not None:
            raise ma.ValidationError("Points have no currency.", "currency")


class TriggerSchema(ma.Schema):
    event = ma.fields.String(required=True, validate=ma.validate.OneOf(TRIGGERS))
    min_order_amount = Count(
        maximum=MAX_INT63, load_default=0, metadata={"description": "Minor units (purchase)"}
    )
    first_purchase_only = ma.fields.Boolean(load_default=False)

    @ma.validates_schema
    def _purchase_only_options(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("event") == "signup":
            if data.get("min_order_amount"):
                raise ma.ValidationError("Only a purchase trigger has one.", "min_order_amount")
            if data.get("first_purchase_only"):
                raise ma.ValidationError("Only a purchase trigger has one.", "first_purchase_only")


class TranslationSchema(ma.Schema):
    headline = Text(max_length=200)
    body = Text(max_length=2000)
    disclosure = Text(min_length=1, max_length=2000)


class Translations(ma.fields.Dict):
    """Per-locale texts, capped in number and in total size."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            keys=Text(max_length=35, validate=[LOCALE]),
            values=ma.fields.Nested(TranslationSchema),
            validate=ma.validate.Length(max=30),
            metadata={
                "description": 'Per-locale texts, e.g. {"de": {"headline": ..., '
                f'"disclosure": ...}}}}; at most 30 locales and {MAX_TRANSLATION_BYTES} bytes'
            },
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
        result = super()._deserialize(value, attr, data, **kwargs)
        if len(json.dumps(result, ensure_ascii=False).encode()) > MAX_TRANSLATION_BYTES:
            raise ma.ValidationError(f"Must be at most {MAX_TRANSLATION_BYTES} bytes as JSON.")
        return result


def _url(**kwargs: Any) -> Text:
    return Text(
        min_length=1, max_length=MAX_URL_LENGTH, metadata={"description": URL_DOC}, **kwargs
    )


class CampaignCreateSchema(ma.Schema):
    """A new campaign; it starts as a draft."""

    name = Text(required=True, min_length=1, max_length=200)
    objective = ma.fields.String(required=True, validate=ma.validate.OneOf(OBJECTIVES))
    inviter_reward = ma.fields.Nested(RewardSchema, allow_none=True, load_default=None)
    invitee_reward = ma.fields.Nested(RewardSchema, allow_none=True, load_default=None)
    one_sided = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Must be true when one reward is absent, false otherwise"},
    )
    trigger = ma.fields.Nested(TriggerSchema, required=True)
    attribution_window_days = ma.fields.Integer(
        load_default=30, strict=True, validate=ma.validate.Range(min=1, max=365)
    )
    attribution_model = ma.fields.String(
        load_default="last_click", validate=ma.validate.OneOf(ATTRIBUTION_MODELS)
    )
    hold_days = ma.fields.Integer(
        load_default=0, strict=True, validate=ma.validate.Range(min=0, max=365)
    )
    budget = Count(
        maximum=MAX_INT63,
        allow_none=True,
        load_default=None,
        metadata={"description": "Total reward budget, minor units; null = unlimited"},
    )
    per_advocate_cap = ma.fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=ma.validate.Range(min=1, max=MAX_INT32),
        metadata={"description": "Rewarded referrals per advocate; null = unlimited"},
    )
    starts_at = Timestamp(allow_none=True, load_default=None)
    ends_at = Timestamp(allow_none=True, load_default=None)
    landing_url = _url(required=True)
    fallback_url = _url(allow_none=True, load_default=None)
    disclosure = Text(
        max_length=2000,
        allow_none=True,
        load_default=None,
        metadata={"description": "Required whenever the inviter is rewarded"},
    )
    translations = Translations(load_default=dict)


class CampaignPatchSchema(ma.Schema):
    """Fields to change; absent ones stay. Rewards and trigger are replaced whole."""

    name = Text(min_length=1, max_length=200)
    objective = ma.fields.String(validate=ma.validate.OneOf(OBJECTIVES))
    status = ma.fields.String(
        validate=ma.validate.OneOf(STATUSES),
        metadata={"description": "draft -> active <-> paused -> ended; draft -> ended"},
    )
    inviter_reward = ma.fields.Nested(RewardSchema, allow_none=True)
    invitee_reward = ma.fields.Nested(RewardSchema, allow_none=True)
    one_sided = ma.fields.Boolean()
    trigger = ma.fields.Nested(TriggerSchema)
    attribution_window_days = ma.fields.Integer(
        strict=True, validate=ma.validate.Range(min=1, max=365)
    )
    attribution_model = ma.fields.String(validate=ma.validate.OneOf(ATTRIBUTION_MODELS))
    hold_days = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=365))
    budget = Count(maximum=MAX_INT63, allow_none=True)
    per_advocate_cap = ma.fields.Integer(
        strict=True, allow_none=True, validate=ma.validate.Range(min=1, max=MAX_INT32)
    )
    starts_at = Timestamp(allow_none=True)
    ends_at = Timestamp(allow_none=True)
    landing_url = _url()
    fallback_url = _url(allow_none=True)
    disclosure = Text(max_length=2000, allow_none=True)
    translations = Translations()


class CampaignListArgsSchema(PageArgsSchema):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATUSES))


# --- output ---------------------------------------------------------------


class RewardOutSchema(ma.Schema):
    kind = ma.fields.String()
    amount = ma.fields.Integer()
    currency = ma.fields.String(allow_none=True)


class TriggerOutSchema(ma.Schema):
    event = ma.fields.String()
    min_order_amount = ma.fields.Integer()
    first_purchase_only = ma.fields.Boolean()


class CampaignSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    objective = ma.fields.String()
    status = ma.fields.String()
    live = ma.fields.Boolean(metadata={"description": "Active and within starts_at/ends_at now"})
    inviter_reward = ma.fields.Nested(RewardOutSchema, allow_none=True)
    invitee_reward = ma.fields.Nested(RewardOutSchema, allow_none=True)
    one_sided = ma.fields.Boolean()
    trigger = ma.fields.Nested(TriggerOutSchema)
    attribution_window_days = ma.fields.Integer()
    attribution_model = ma.fields.String()
    hold_days = ma.fields.Integer()
    budget = ma.fields.Integer(allow_none=True)
    per_advocate_cap = ma.fields.Integer(allow_none=True)
    starts_at = ma.fields.DateTime(allow_none=True)
    ends_at = ma.fields.DateTime(allow_none=True)
    landing_url = ma.fields.String()
    fallback_url = ma.fields.String(allow_none=True)
    disclosure = ma.fields.String(allow_none=True)
    translations = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict())
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()

    @ma.pre_dump
    def _from_row(self, campaign: Any, **_: Any) -> dict[str, Any]:
        return {
            **service.campaign_values(campaign),
            "id": campaign.id,
            "live": campaign_is_live(campaign, utcnow()),
            "created_at": campaign.created_at,
            "updated_at": campaign.updated_at,
        }


CampaignPageSchema = page_schema("CampaignPageSchema", CampaignSchema)


class AuditEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.DateTime()
    api_key_id = ma.fields.Integer(allow_none=True, metadata={"description": "Who: the API key"})
    staff_user_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "Who: the staff member (in the console)"}
    )
    field = ma.fields.String(
        metadata={
            "description": "status, inviter_reward, invitee_reward, landing_url, "
            "fallback_url, disclosure or translations.<locale>.disclosure"
        }
    )
    old_value = ma.fields.Raw(allow_none=True, metadata={"description": "null at creation"})
    new_value = ma.fields.Raw(allow_none=True)


AuditPageSchema = page_schema("AuditPageSchema", AuditEntrySchema)


# --- routes ---------------------------------------------------------------


@blp.route("")
class Campaigns(MethodView):
    @blp.endpoint("read", CampaignPageSchema, query=CampaignListArgsSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List campaigns, newest first, with a cursor."""
        return workspace_page(service.list_campaigns, **args)

    @blp.endpoint("campaigns", CampaignSchema, status=201, body=CampaignCreateSchema)
    def post(self, values: dict[str, Any]) -> Any:
        """Create a draft campaign."""
        return commit_in_workspace(
            service.create_campaign, api_key_id=current_principal().api_key_id, values=values
        )


@blp.route("/<int:campaign_id>")
class CampaignResource(MethodView):
    @blp.endpoint("read", CampaignSchema, problems=NO_CAMPAIGN)
    def get(self, campaign_id: int) -> Any:
        """Read one campaign."""
        return in_workspace(service.get_campaign, campaign_id=campaign_id)

    @blp.endpoint(
        "campaigns",
        CampaignSchema,
        body=CampaignPatchSchema,
        problems=NO_CAMPAIGN | {409: "Illegal status change, or rewards of an ended campaign"},
    )
    def patch(self, changes: dict[str, Any], campaign_id: int) -> Any:
        """Change settings or status; rewards, status, URLs and disclosure are audited."""
        return commit_in_workspace(
            service.update_campaign,
            campaign_id=campaign_id,
            api_key_id=current_principal().api_key_id,
            changes=changes,
        )


@blp.route("/<int:campaign_id>/audit")
class CampaignAuditTrail(MethodView):
    @blp.endpoint("read", AuditPageSchema, query=PageArgsSchema, problems=NO_CAMPAIGN)
    def get(self, args: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Who changed rewards, status, URLs and disclosure, when, from what to what."""
        return workspace_page(service.list_audit, campaign_id=campaign_id, **args)


@blp.route("/<int:campaign_id>/enrollments")
class Enrollments(MethodView):
    @blp.endpoint(
        "read", EnrollmentPageSchema, query=EnrollmentListArgsSchema, problems=NO_CAMPAIGN
    )
    def get(self, args: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """The enrolled advocates and how each was chosen."""
        return workspace_page(enrollments.list_enrollments, campaign_id=campaign_id, **args)

    @blp.endpoint(
        "campaigns",
        EnrollReportSchema,
        body=EnrollArgsSchema,
        problems=NO_CAMPAIGN | {409: "The campaign has ended, or a strategy needs a ranking"},
    )
    def post(self, args: dict[str, Any], campaign_id: int) -> Any:
        """Enroll advocates by name or by strategy; answers per customer (idempotent)."""
        principal = current_principal()
        report = enrollments.enroll_advocates(
            db.session,
            workspace_id=principal.workspace_id,
            campaign_id=campaign_id,
            api_key_id=principal.api_key_id,
            **args,
        )
        body = {
            "method": report.method,
            "snapshot": report.snapshot_ref,
            "expected_reach": report.expected_reach,
            "summary": report.summary,
            "results": report.results,
        }
        db.session.commit()
        return body


@blp.route("/<int:campaign_id>/enrollments/<string:external_id>")
class EnrollmentResource(MethodView):
    @blp.endpoint(
        "campaigns", status=204, problems={404: "No such campaign, or the customer is not enrolled"}
    )
    def delete(self, campaign_id: int, external_id: str) -> None:
        """Withdraw an advocate; their links stop working."""
        commit_in_workspace(
            enrollments.withdraw_enrollment,
            campaign_id=campaign_id,
            customer_external_id=external_id,
        )
