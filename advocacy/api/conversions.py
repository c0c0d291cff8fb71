"""Conversions: the site reports sign-ups and purchases (idempotently), and refunds."""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

import marshmallow as ma
from flask import Response, current_app, request
from flask.views import MethodView
from sqlalchemy.exc import IntegrityError, OperationalError

from advocacy.api.auth import ApiBlueprint, current_principal
from advocacy.extensions import db
from advocacy.fields import MAX_INT63, Count, Currency, EmailAddress, ExternalId, Text, Timestamp
from advocacy.rewards import idempotency
from advocacy.rewards.models import CONVERSION_EVENTS, EVIDENCE, ROLES
from advocacy.rewards.refunds import refund_conversion
from advocacy.rewards.rules import STATES
from advocacy.rewards.service import (
    ConversionSettings,
    describe_conversion,
    get_conversion,
    record_conversion,
)
from advocacy.types import utcnow

blp = ApiBlueprint(
    "conversions", __name__, url_prefix="/api/v1/conversions", description="Conversions"
)

F = TypeVar("F", bound=Callable[..., Any])
REPLAYED_HEADER = "Idempotent-Replayed"
# Serialization failures and deadlocks: the transaction may simply be run again.
RETRYABLE_SQLSTATES = ("40001", "40P01")
KEY_DOC = (
    "A unique value per operation (a UUID). Retrying with the same key and body returns "
    "the first answer; keys are kept at least 24 hours."
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


class ReferralOutSchema(ma.Schema):
    id = ma.fields.Integer()
    campaign_id = ma.fields.Integer()
    advocate = ma.fields.String(metadata={"description": "The inviter's external id"})
    evidence = ma.fields.String(metadata={"description": ", ".join(EVIDENCE)})
    link_id = ma.fields.Integer()
    click_id = ma.fields.Integer(allow_none=True)
    touched_at = ma.fields.DateTime(metadata={"description": "Start of the attribution window"})
    state = ma.fields.String(metadata={"description": "signed_up, converted, rewarded, rejected"})
    reason = ma.fields.String(allow_none=True)


class RewardHistorySchema(ma.Schema):
    from_state = ma.fields.String(allow_none=True)
    to_state = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    at = ma.fields.DateTime()


class EarnedRewardSchema(ma.Schema):
    id = ma.fields.Integer()
    campaign_id = ma.fields.Integer()
    event_id = ma.fields.String(metadata={"description": "The conversion that earned it"})
    role = ma.fields.String(metadata={"description": " or ".join(ROLES)})
    customer = ma.fields.String(metadata={"description": "The beneficiary's external id"})
    kind = ma.fields.String(metadata={"description": "credit, coupon or points"})
    amount = ma.fields.Integer(metadata={"description": "Minor units, or points"})
    currency = ma.fields.String(allow_none=True, metadata={"description": "null for points"})
    state = ma.fields.String(metadata={"description": ", ".join(STATES)})
    reasons = ma.fields.List(
        ma.fields.String(), metadata={"description": "Fraud findings and review notes"}
    )
    approve_after = ma.fields.DateTime(
        allow_none=True, metadata={"description": "End of the return window (hold_days)"}
    )
    code = ma.fields.String(allow_none=True, metadata={"description": "Set when issued"})
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    history = ma.fields.List(ma.fields.Nested(RewardHistorySchema))


class ConversionSchema(ma.Schema):
    event_id = ma.fields.String()
    event = ma.fields.String()
    customer = ma.fields.String(metadata={"description": "The invitee's external id"})
    amount = ma.fields.Integer(allow_none=True)
    currency = ma.fields.String(allow_none=True)
    occurred_at = ma.fields.DateTime()
    attributed = ma.fields.Boolean()
    reason = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "Why it was not attributed: no_evidence, invalid_ref, expired_ref, "
            "invalid_cookie, no_matching_click, outside_attribution_window"
        },
    )
    referral = ma.fields.Nested(ReferralOutSchema, allow_none=True)
    rewards = ma.fields.List(ma.fields.Nested(EarnedRewardSchema))
    refunded_amount = ma.fields.Integer()
    created_at = ma.fields.DateTime()


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


# --- idempotency ------------------------------------------------------------------------


def _retryable(error: Exception) -> bool:
    if isinstance(error, IntegrityError):
        return True  # a concurrent duplicate committed first: a rerun finds and answers it
    return getattr(getattr(error, "orig", None), "sqlstate", None) in RETRYABLE_SQLSTATES


def _claim(workspace_id: int, key: str, fingerprint: str) -> idempotency.Claim:
    """Claim the key (committed at once), waiting a little for a request still running."""
    config = current_app.config
    ttl = timedelta(hours=config["IDEMPOTENCY_TTL_HOURS"])
    deadline = time.monotonic() + config["IDEMPOTENCY_WAIT_MS"] / 1000
    delay = 0.005
    while True:
        claim = idempotency.claim_key(
            db.session,
            workspace_id=workspace_id,
            key=key,
            fingerprint=fingerprint,
            now=utcnow(),
            ttl=ttl,
        )
        db.session.commit()
        if claim.outcome == idempotency.MISMATCH:
            raise idempotency.IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different request."
            )
        if claim.outcome in (idempotency.CLAIMED, idempotency.REPLAY):
            return claim
        if time.monotonic() >= deadline:
            raise idempotency.IdempotencyKeyInUse(
                "A request with this Idempotency-Key is still being processed; retry shortly."
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _run(view: Callable[..., Any], args: Any, kwargs: Any, key_id: int | None) -> Response:
    """Run the view, store its answer under the key, commit both together."""
    try:
        for attempt in range(3):
            try:
                response: Response = view(*args, **kwargs)
                break
            except (IntegrityError, OperationalError) as exc:
                db.session.rollback()
                if attempt == 2 or not _retryable(exc):
                    raise
        if key_id is not None:
            idempotency.complete_key(
                db.session, key_id=key_id, status=response.status_code, body=response.get_json()
            )
        db.session.commit()
        return response
    except BaseException:
        db.session.rollback()
        if key_id is not None:
            idempotency.release_key(db.session, key_id=key_id)
            db.session.commit()
        raise


def idempotent(*, required: bool) -> Callable[[F], F]:
    """Idempotency-Key handling around a view that returns a Response and does not commit.

    Goes between ``@blp.arguments`` (an invalid body never claims a key) and
    ``@blp.response``. Missing key: 400 when required. Same key, same request: the stored
    status and body, with ``Idempotent-Replayed: true`` (waiting up to IDEMPOTENCY_WAIT_MS
    for a first request still running, then 409). Same key, different request: 422.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get(idempotency.HEADER)
            if header is None and not required:
                return _run(view, args, kwargs, None)
            key = idempotency.check_key(header)
            claim = _claim(
                current_principal().workspace_id,
                key,
                idempotency.fingerprint(request.method, request.path, request.get_data()),
            )
            if claim.outcome == idempotency.REPLAY:
                replay = current_app.response_class(
                    json.dumps(claim.body), status=claim.status, mimetype="application/json"
                )
                replay.headers[REPLAYED_HEADER] = "true"
                return replay
            return _run(view, args, kwargs, claim.key_id)

        documented = blp.doc(
            parameters=[
                {
                    "in": "header",
                    "name": idempotency.HEADER,
                    "required": required,
                    "schema": {"type": "string", "maxLength": idempotency.MAX_KEY_LENGTH},
                    "description": KEY_DOC,
                }
            ]
        )(wrapper)
        return blp.problem_response(  # type: ignore[no-any-return]
            409, "A request with this Idempotency-Key is still running (Retry-After)"
        )(documented)

    return decorator


def _settings() -> ConversionSettings:
    config = current_app.config
    return ConversionSettings(
        signing_keys=config["REFERRAL_SIGNING_KEYS"],
        link_max_age_days=config["LINK_MAX_AGE_DAYS"],
        ip_key=config["SECRET_KEY"].encode(),
        velocity_limit=config["VELOCITY_LIMIT_PER_DAY"],
    )


# --- routes -----------------------------------------------------------------------------


@blp.route("")
class Conversions(MethodView):
    @blp.requires("conversions")
    @blp.arguments(ConversionInSchema)
    @idempotent(required=True)
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
        return recorded.body, 201 if recorded.created else 200


@blp.route("/<string:event_id>")
class ConversionResource(MethodView):
    @blp.requires("conversions")
    @blp.response(200, ConversionSchema)
    @blp.problem_response(404, "No such conversion in this workspace")
    def get(self, event_id: str) -> Any:
        """Read a conversion with its referral and rewards."""
        conversion = get_conversion(db.session, current_principal().workspace_id, event_id)
        return describe_conversion(db.session, conversion)


@blp.route("/<string:event_id>/refund")
class ConversionRefund(MethodView):
    @blp.requires("conversions")
    @blp.arguments(RefundInSchema)
    @idempotent(required=False)
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
        return refunded.body
