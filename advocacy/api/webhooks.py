"""Webhook subscriptions: register https endpoints, list and delete them, replay deliveries."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask.views import MethodView

from advocacy.api.auth import ApiBlueprint
from advocacy.api.common import commit_in_workspace, in_workspace
from advocacy.extensions import db
from advocacy.fields import MAX_INT63, Text
from advocacy.types import utcnow
from advocacy.webhooks import service
from advocacy.webhooks.delivery import MAX_URL_LENGTH
from advocacy.webhooks.models import DELIVERY_STATES, EVENT_TYPES

blp = ApiBlueprint("webhooks", __name__, url_prefix="/api/v1/webhooks", description="Webhooks")
NO_SUBSCRIPTION = {404: "No such subscription in this workspace"}


class SubscriptionInSchema(ma.Schema):
    url = Text(
        required=True,
        min_length=1,
        max_length=MAX_URL_LENGTH,
        metadata={"description": "https; private and loopback addresses are refused"},
    )
    event_types = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(EVENT_TYPES)),
        load_default=list,
        validate=ma.validate.Length(max=len(EVENT_TYPES)),
        metadata={"description": "Empty: every event type"},
    )
    description = Text(max_length=200, allow_none=True, load_default=None)


class SubscriptionSchema(ma.Schema):
    id = ma.fields.Integer()
    url = ma.fields.String()
    event_types = ma.fields.List(ma.fields.String())
    description = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class NewSubscriptionSchema(SubscriptionSchema):
    secret = ma.fields.String(
        metadata={"description": "whsec_...: verifies webhook-signature; shown only now"}
    )


class SubscriptionListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SubscriptionSchema))


class DeliveryArgsSchema(ma.Schema):
    state = ma.fields.String(load_default=None, validate=ma.validate.OneOf(DELIVERY_STATES))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100))
    before = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=1, max=MAX_INT63),
        metadata={"description": "The last id of the previous page"},
    )


_DELIVERY_COLUMNS = (
    "id",
    "state",
    "attempts",
    "next_attempt_at",
    "last_status",
    "last_error",
    "delivered_at",
    "created_at",
)


class DeliverySchema(ma.Schema):
    id = ma.fields.Integer()
    webhook_id = ma.fields.String(metadata={"description": "The webhook-id header"})
    type = ma.fields.String()
    state = ma.fields.String(metadata={"description": "pending, delivered or dead"})
    attempts = ma.fields.Integer()
    next_attempt_at = ma.fields.DateTime()
    last_status = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    delivered_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()

    @ma.pre_dump
    def _from_rows(self, rows: tuple[Any, Any], **_: Any) -> dict[str, Any]:
        """A (delivery, its outbox event) pair: the event gives the webhook id and type."""
        delivery, event = rows
        return {
            **{name: getattr(delivery, name) for name in _DELIVERY_COLUMNS},
            "webhook_id": event.msg_id,
            "type": event.type,
        }


class DeliveryListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DeliverySchema))


@blp.route("")
class Subscriptions(MethodView):
    @blp.endpoint("admin", SubscriptionListSchema)
    def get(self) -> dict[str, Any]:
        """List webhook subscriptions (secrets are never shown again)."""
        return {"items": in_workspace(service.list_subscriptions)}

    @blp.endpoint(
        "admin",
        NewSubscriptionSchema,
        status=201,
        body=SubscriptionInSchema,
        problems={409: "Too many subscriptions"},
    )
    def post(self, args: dict[str, Any]) -> Any:
        """Subscribe an https URL to events; answers its signing secret once."""
        subscription = in_workspace(
            service.create_subscription,
            allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"],
            **args,
        )
        body = {
            name: getattr(subscription, name)
            for name in ("id", "url", "event_types", "description", "created_at", "secret")
        }
        db.session.commit()
        return body


@blp.route("/<int:subscription_id>")
class Subscription(MethodView):
    @blp.endpoint("admin", SubscriptionSchema, problems=NO_SUBSCRIPTION)
    def get(self, subscription_id: int) -> Any:
        """Read one subscription."""
        return in_workspace(service.get_subscription, subscription_id=subscription_id)

    @blp.endpoint("admin", status=204, problems=NO_SUBSCRIPTION)
    def delete(self, subscription_id: int) -> None:
        """Delete a subscription: nothing more is sent to it."""
        commit_in_workspace(
            service.delete_subscription, subscription_id=subscription_id, now=utcnow()
        )


@blp.route("/<int:subscription_id>/deliveries")
class Deliveries(MethodView):
    @blp.endpoint("admin", DeliveryListSchema, query=DeliveryArgsSchema, problems=NO_SUBSCRIPTION)
    def get(self, args: dict[str, Any], subscription_id: int) -> dict[str, Any]:
        """Deliveries of a subscription, newest first; state=dead is the dead-letter queue."""
        return {
            "items": in_workspace(service.list_deliveries, subscription_id=subscription_id, **args)
        }


@blp.route("/<int:subscription_id>/deliveries/<int:delivery_id>/replay")
class ReplayDelivery(MethodView):
    @blp.endpoint(
        "admin",
        DeliverySchema,
        problems={404: "No such delivery", 409: "The delivery is still being attempted"},
    )
    def post(self, subscription_id: int, delivery_id: int) -> Any:
        """Send a delivery again (a dead one, typically), with the same webhook-id."""
        replayed = commit_in_workspace(
            service.replay_delivery,
            subscription_id=subscription_id,
            delivery_id=delivery_id,
            now=utcnow(),
        )
        return replayed, 200  # (delivery, event): a tuple alone would read as (body, status)
