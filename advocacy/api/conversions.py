"""Conversions: the site reports sign-ups and purchases (idempotently), and refunds."""

from __future__ import annotations

import ipaddress
from typing import Any

import marshmallow as ma
from flask import current_app
from flask.views import MethodView

from advocacy.api.auth import ApiBlueprint, current_principal
from advocacy.api.idempotency import idempotent
from advocacy.extensions import db
from advocacy.fields import MAX_INT63, Count, Currency, EmailAddress, ExternalId, Text, Timestamp
from advocacy.rewards.conversions import (
    ConversionSettings,
    describe_conversion,
    get_conversion,
    record_conversion,
)
from advocacy.rewards.models import CONVERSION_EVENTS, EVIDENCE, ROLES
from advocacy.rewards.refunds import refund_conversion
from advocacy.rewards.rules import REFERRAL_STATES, STATES
from advocacy.types import utcnow

blp = ApiBlueprint(
    "conversions", __name__, url_prefix="/api/v1/conversions", description="Conversions"
)


# --- input ----------------------------------------------------------------------------


class InviteeSchema(ma.Schema):
    external_id = ExternalId(required=True, metadata={"description": "The site's customer id"})
    email = EmailAddress(required=True)
    first_name = Text(max_length=100, allow_none=True, load_default=None)
    last_name = Text(max_length=100, allow_none=True, load_default=None)


def _ip(value: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError as exc:
        raise ma.ValidationError("Not an IPv4 or IPv6 address.") from exc


class ConversionInSchema(ma.Schema):
    """A sign-up or purchase, with the attribution evidence the site has."""

    event = ma.fields.String(required=True, validate=ma.validate.OneOf(CONVERSION_EVENTS))
    event_id = ExternalId(
        required=True,
        metadata={"description": "The site's order or sign-up id, unique per workspace"},
    )
    invitee = ma.fields.Nested(InviteeSchema, required=True)
    amount = Count(
        maximum=MAX_INT63,
        allow_none=True,
        load_default=None,
        metadata={"description": "Purchases: order value in minor units (cents)"},
    )
    currency = Currency(allow_none=True, load_default=None, metadata={"description": "Purchases"})
    occurred_at = Timestamp(required=True)
    ref = Text(
        min_length=1,
        max_length=200,
        allow_none=True,
        load_default=None,
        metadata={"description": "The ref parameter of the landing URL"},
    )
    attribution = Text(
        min_length=1,
        max_length=200,
        allow_none=True,
        load_default=None,
        metadata={"description": "The adv_ref attribution cookie, if the site can read it"},
    )
    visitor_id = Text(
        min_length=1,
        max_length=64,
        allow_none=True,
        load_default=None,
        validate=[ma.validate.Regexp(r"^[A-Za-z0-9_\-]+\Z", error="Use A-Z, a-z, 0-9, _ or -.")],
        metadata={"description": "The adv_vid visitor cookie"},
    )
    ip = Text(max_length=45, allow_none=True, load_default=None, validate=[_ip])
    user_agent = Text(max_length=512, allow_none=True, load_default=None)

    @ma.validates_schema
    def _purchase_fields(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("event") == "purchase":
            for name in ("amount", "currency"):
                if data.get(name) is None:
                    raise ma.ValidationError("Required for a purchase.", name)
        elif data.get("event") == "signup":
            for name in ("amount", "currency"):
                if data.get(name) is not None:
                    raise ma.ValidationError("Only a purchase has one.", name)


class RefundInSchema(ma.Schema):
    amount = ma.fields.Integer(
        strict=True,
        validate=ma.validate.Range(min=1, max=MAX_INT63),
        allow_none=True,
        load_default=None,
        metadata={"description": "Minor units; absent or null: all that is left (full refund)"},
    )
    refund_id = ExternalId(
        allow_none=True,
        load_default=None,
        metadata={"description": "The shop's refund id; re-sending it is harmless"},
    )
    reason = Text(max_length=500, allow_none=True, load_default=None)


# --- output ---------------------------------------------------------------------------


# The bodies are shaped here from what the services return: ``ConversionView`` (a
# conversion row, its referral row with the advocate's external id, its rewards) and
# ``RewardView`` (a reward row with its beneficiary's external id, and when listed its
# conversion's event id and history).


class ReferralOutSchema(ma.Schema):
    id = ma.fields.Integer(attribute="referral.id")
    campaign_id = ma.fields.Integer(attribute="referral.campaign_id")
    advocate = ma.fields.String(metadata={"description": "The inviter's external id"})
    evidence = ma.fields.String(
        attribute="referral.evidence", metadata={"description": ", ".join(EVIDENCE)}
    )
    link_id = ma.fields.Integer(attribute="referral.link_id")
    click_id = ma.fields.Integer(attribute="referral.click_id", allow_none=True)
    touched_at = ma.fields.DateTime(
        attribute="referral.touched_at", metadata={"description": "Start of the attribution window"}
    )
    state = ma.fields.String(
        attribute="referral.state", metadata={"description": ", ".join(REFERRAL_STATES)}
    )
    reason = ma.fields.String(attribute="referral.reason", allow_none=True)


class RewardHistorySchema(ma.Schema):
    from_state = ma.fields.String(allow_none=True)
    to_state = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    at = ma.fields.DateTime()
    api_key_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "Who: the API key (null: the service)"}
    )
    staff_user_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "Who: the staff member (in the console)"}
    )


class _Reasons(ma.fields.List):
    """Reason codes; a reward stored without any shows ``[]``."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return super()._serialize(value or [], attr, obj, **kwargs)


class ConversionRewardSchema(ma.Schema):
    id = ma.fields.Integer(attribute="reward.id")
    campaign_id = ma.fields.Integer(attribute="reward.campaign_id")
    role = ma.fields.String(attribute="reward.role", metadata={"description": " or ".join(ROLES)})
    customer = ma.fields.String(metadata={"description": "The beneficiary's external id"})
    kind = ma.fields.String(
        attribute="reward.kind", metadata={"description": "credit, coupon or points"}
    )
    amount = ma.fields.Integer(
        attribute="reward.amount", metadata={"description": "Minor units, or points"}
    )
    currency = ma.fields.String(
        attribute="reward.currency", allow_none=True, metadata={"description": "null for points"}
    )
    state = ma.fields.String(attribute="reward.state", metadata={"description": ", ".join(STATES)})
    reasons = _Reasons(
        ma.fields.String(),
        attribute="reward.reasons",
        metadata={"description": "Fraud findings and review notes"},
    )
    approve_after = ma.fields.DateTime(
        attribute="reward.approve_after",
        allow_none=True,
        metadata={"description": "End of the return window (hold_days)"},
    )
    code = ma.fields.String(
        attribute="reward.code", allow_none=True, metadata={"description": "Set when issued"}
    )
    created_at = ma.fields.DateTime(attribute="reward.created_at")
    updated_at = ma.fields.DateTime(attribute="reward.updated_at")


class EarnedRewardSchema(ConversionRewardSchema):
    event_id = ma.fields.String(metadata={"description": "The conversion that earned it"})
    history = ma.fields.List(ma.fields.Nested(RewardHistorySchema))


class ConversionSchema(ma.Schema):
    event_id = ma.fields.String(attribute="conversion.event_id")
    event = ma.fields.String(attribute="conversion.event")
    customer = ma.fields.String(metadata={"description": "The invitee's external id"})
    amount = ma.fields.Integer(attribute="conversion.amount", allow_none=True)
    currency = ma.fields.String(attribute="conversion.currency", allow_none=True)
    occurred_at = ma.fields.DateTime(attribute="conversion.occurred_at")
    attributed = ma.fields.Boolean(attribute="conversion.attributed")
    reason = ma.fields.String(
        attribute="conversion.reason",
        allow_none=True,
        metadata={
            "description": "Why it was not attributed: no_evidence, invalid_ref, expired_ref, "
            "invalid_cookie, no_matching_click, outside_attribution_window"
        },
    )
    referral = ma.fields.Nested(ReferralOutSchema, allow_none=True)
    rewards = ma.fields.List(ma.fields.Nested(ConversionRewardSchema))
    refunded_amount = ma.fields.Integer(attribute="conversion.refunded_amount")
    created_at = ma.fields.DateTime(attribute="conversion.created_at")


class RefundOutSchema(ma.Schema):
    refund_id = ma.fields.String(allow_none=True)
    amount = ma.fields.Integer()
    reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class RefundResultSchema(ConversionSchema):
    refund = ma.fields.Nested(
        RefundOutSchema,
        allow_none=True,
        metadata={"description": "What this request recorded; null when it was a repeat"},
    )


def _settings() -> ConversionSettings:
    config = current_app.config
    return ConversionSettings(
        signing_keys=config["REFERRAL_SIGNING_KEYS"],
        link_max_age_days=config["LINK_MAX_AGE_DAYS"],
        ip_key=config["SECRET_KEY"].encode(),
        velocity_limit=config["VELOCITY_LIMIT_PER_DAY"],
        click_wait_seconds=_click_wait_seconds(config),
    )


def _click_wait_seconds(config: Any) -> float:
    """How long a ref waits for its click to be stored: only while clicks are written
    behind the redirect (CLICK_FLUSH_MS on PostgreSQL); CLICK_WAIT_MS, or two flushes and
    a quarter of a second."""
    flush_ms = config["CLICK_FLUSH_MS"]
    if not flush_ms or db.engine.dialect.name != "postgresql":
        return 0.0
    wait_ms = config.get("CLICK_WAIT_MS")
    return (2 * flush_ms + 250 if wait_ms is None else wait_ms) / 1000


# Instances, not classes: given a class, webargs builds the schema (and its nested ones)
# again for every request.
_CONVERSION_IN = ConversionInSchema()


# --- routes -----------------------------------------------------------------------------


@blp.route("")
class Conversions(MethodView):
    @blp.requires("conversions", prepared=True)
    @blp.arguments(_CONVERSION_IN)
    @idempotent(blp, required=True)
    @blp.response(201, ConversionSchema)
    @blp.alt_response(200, schema=ConversionSchema, description="event_id already recorded")
    @blp.problem_response(400, "Idempotency-Key header missing")
    def post(self, report: dict[str, Any]) -> Any:
        """Report a sign-up or purchase: attribute it and write both rewards."""
        recorded = record_conversion(
            db.session,
            workspace_id=current_principal().workspace_id,
            report=report,
            settings=_settings(),
            now=utcnow(),
        )
        return recorded.view, 201 if recorded.created else 200


@blp.route("/<string:event_id>")
class ConversionResource(MethodView):
    @blp.requires("conversions")
    @blp.response(200, ConversionSchema)
    @blp.problem_response(404, "No such conversion in this workspace")
    def get(self, event_id: str) -> Any:
        """Read a conversion with its referral and rewards."""
        conversion = get_conversion(
            db.session, workspace_id=current_principal().workspace_id, event_id=event_id
        )
        return describe_conversion(db.session, conversion=conversion)


@blp.route("/<string:event_id>/refund")
class ConversionRefund(MethodView):
    @blp.requires("conversions")
    @blp.arguments(RefundInSchema)
    @idempotent(blp, required=False)
    @blp.response(200, RefundResultSchema)
    @blp.problem_response(404, "No such conversion in this workspace")
    def post(self, args: dict[str, Any], event_id: str) -> Any:
        """Refund a purchase, fully or partly; its rewards are undone once, per the rule."""
        refunded = refund_conversion(
            db.session,
            workspace_id=current_principal().workspace_id,
            event_id=event_id,
            now=utcnow(),
            **args,
        )
        return refunded
