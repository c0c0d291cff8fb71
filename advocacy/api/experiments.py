"""A campaign's experiment: variants with weights, sticky assignment, and its results."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from advocacy.api.auth import ApiBlueprint
from advocacy.api.campaigns import RewardOutSchema, RewardSchema
from advocacy.api.common import NO_CAMPAIGN, commit_in_workspace, in_workspace
from advocacy.experiments import service
from advocacy.experiments.models import UNITS
from advocacy.fields import MAX_INT32, ExternalId, Slug
from advocacy.types import utcnow

blp = ApiBlueprint(
    "experiments", __name__, url_prefix="/api/v1/campaigns", description="Campaign experiments"
)
NO_EXPERIMENT = {404: "No such campaign, or it has no experiment"}
NOT_DEFINABLE = NO_CAMPAIGN | {
    409: "Units are assigned already, or the campaign has ended",
    422: "Variants the campaign does not allow (currency, disclosure)",
}


# --- input ----------------------------------------------------------------


class VariantSchema(ma.Schema):
    name = Slug(required=True)
    weight = ma.fields.Integer(
        load_default=1, strict=True, validate=ma.validate.Range(min=1, max=1000)
    )
    control = ma.fields.Boolean(load_default=False)
    inviter_reward = ma.fields.Nested(
        RewardSchema,
        required=True,
        allow_none=True,
        metadata={"description": "What the inviter gets in this variant; null for nothing"},
    )
    invitee_reward = ma.fields.Nested(
        RewardSchema,
        required=True,
        allow_none=True,
        metadata={"description": "What the invitee gets in this variant; null for nothing"},
    )

    @ma.validates_schema
    def _rewards_someone(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("inviter_reward") is None and data.get("invitee_reward") is None:
            message = "A variant rewards at least one side."
            raise ma.ValidationError({"inviter_reward": [message], "invitee_reward": [message]})


class ExperimentSchema(ma.Schema):
    unit = ma.fields.String(
        load_default="advocate",
        validate=ma.validate.OneOf(UNITS),
        metadata={
            "description": "Who is assigned: advocates (when enrolled, or at their first "
            "link) or invitees (when a conversion of theirs is attributed)"
        },
    )
    variants = ma.fields.List(
        ma.fields.Nested(VariantSchema),
        required=True,
        validate=ma.validate.Length(min=2, max=10),
        metadata={"description": "2-10 variants, exactly one the control"},
    )
    min_sample = ma.fields.Integer(
        load_default=100,
        strict=True,
        validate=ma.validate.Range(min=1, max=MAX_INT32),
        metadata={"description": "Units per variant before a winner may be declared"},
    )

    @ma.validates_schema
    def _one_control(self, data: dict[str, Any], **_: Any) -> None:
        variants = data.get("variants") or []
        if sum(1 for v in variants if v["control"]) != 1:
            raise ma.ValidationError("Exactly one variant must be the control.", "variants")
        if len({v["name"] for v in variants}) != len(variants):
            raise ma.ValidationError("Variant names must differ.", "variants")


class AssignSchema(ma.Schema):
    advocates = ma.fields.List(
        ExternalId(), required=True, validate=ma.validate.Length(min=1, max=1000)
    )


# --- output ---------------------------------------------------------------


class VariantResultSchema(ma.Schema):
    name = ma.fields.String()
    control = ma.fields.Boolean()
    weight = ma.fields.Integer()
    inviter_reward = ma.fields.Nested(RewardOutSchema, allow_none=True)
    invitee_reward = ma.fields.Nested(RewardOutSchema, allow_none=True)
    exposures = ma.fields.Integer(
        metadata={"description": "Units (advocates or invitees) assigned"}
    )
    conversions = ma.fields.Integer(
        metadata={"description": "Units with an attributed conversion after assignment"}
    )
    rate = ma.fields.Float(allow_none=True)
    rate_ci_low = ma.fields.Float(metadata={"description": "95% Wilson interval"})
    rate_ci_high = ma.fields.Float()
    revenue = ma.fields.Integer(metadata={"description": "Minor units, campaign currency"})
    revenue_per_exposure = ma.fields.Float(allow_none=True)
    lift = ma.fields.Float(allow_none=True, metadata={"description": "vs control; relative"})
    p_value = ma.fields.Float(allow_none=True, metadata={"description": "Two-proportion z-test"})
    significant = ma.fields.Boolean(metadata={"description": "p below 0.05 / (variants - 1)"})
    winning = ma.fields.Boolean(metadata={"description": "Significant, better, min sample met"})
    sample_needed = ma.fields.Integer(
        allow_none=True, metadata={"description": "More units per arm still needed"}
    )


class ExperimentResultSchema(ma.Schema):
    unit = ma.fields.String(metadata={"description": "advocate or invitee"})
    min_sample = ma.fields.Integer()
    currency = ma.fields.String(allow_none=True)
    variants = ma.fields.List(ma.fields.Nested(VariantResultSchema))
    winner = ma.fields.String(allow_none=True)


class AssignmentSchema(ma.Schema):
    advocate = ma.fields.String()
    variant = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"description": "new, assigned or not_enrolled"})


class AssignmentListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AssignmentSchema))


# --- routes ---------------------------------------------------------------


@blp.route("/<int:campaign_id>/experiment")
class ExperimentResource(MethodView):
    @blp.endpoint("read", ExperimentResultSchema, problems=NO_EXPERIMENT)
    def get(self, campaign_id: int) -> dict[str, Any]:
        """Per variant exposures, conversions, rate with its interval, lift and p-value."""
        return in_workspace(service.experiment_results, campaign_id=campaign_id)

    @blp.endpoint(
        "campaigns", ExperimentResultSchema, body=ExperimentSchema, problems=NOT_DEFINABLE
    )
    def put(self, values: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Define the unit, variants, weights and incentives (before anyone is assigned)."""
        in_workspace(service.define_experiment, campaign_id=campaign_id, **values)
        return commit_in_workspace(service.experiment_results, campaign_id=campaign_id)


@blp.route("/<int:campaign_id>/experiment/assignments")
class Assignments(MethodView):
    @blp.endpoint(
        "write",
        AssignmentListSchema,
        body=AssignSchema,
        problems=NO_EXPERIMENT | {409: "The experiment assigns invitees, not advocates"},
    )
    def post(self, args: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Each enrolled advocate's variant: recorded once by hash of their id, then sticky."""
        items = commit_in_workspace(
            service.assign_advocates,
            campaign_id=campaign_id,
            advocates=args["advocates"],
            now=utcnow(),
        )
        return {"items": items}
