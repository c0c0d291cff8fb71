"""Listening insights: mention alerts against the typical day, supporters and detractors."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from advocacy.api.auth import ApiBlueprint
from advocacy.api.common import in_workspace
from advocacy.api.kpis import RangeArgsSchema
from advocacy.insights import service

blp = ApiBlueprint(
    "insights", __name__, url_prefix="/api/v1/insights", description="Listening insights"
)


# --- input ----------------------------------------------------------------


class VoicesArgsSchema(RangeArgsSchema):
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


# --- output ---------------------------------------------------------------


class DaySchema(ma.Schema):
    day = ma.fields.Date()
    start = ma.fields.AwareDateTime()
    end = ma.fields.AwareDateTime()
    volume = ma.fields.Integer(metadata={"description": "Mentions that day"})
    negative = ma.fields.Integer(metadata={"description": "Sentiment below -0.05"})
    positive = ma.fields.Integer(metadata={"description": "Sentiment above 0.05"})
    negative_share = ma.fields.Float(allow_none=True)
    baseline_volume = ma.fields.Float(metadata={"description": "Median of the 28 days before"})
    baseline_negative_share = ma.fields.Float()
    alert = ma.fields.String(allow_none=True, metadata={"description": "crisis, praise_surge"})


class ChannelCountSchema(ma.Schema):
    channel = ma.fields.String()
    mentions = ma.fields.Integer()


class DriverSchema(ma.Schema):
    customer = ma.fields.String()
    mentions = ma.fields.Integer()
    mean_sentiment = ma.fields.Float()


class AlertSchema(ma.Schema):
    day = ma.fields.Date()
    start = ma.fields.AwareDateTime()
    end = ma.fields.AwareDateTime()
    direction = ma.fields.String(metadata={"description": "crisis or praise_surge"})
    volume = ma.fields.Integer()
    negative_share = ma.fields.Float(allow_none=True)
    baseline_volume = ma.fields.Float()
    baseline_negative_share = ma.fields.Float()
    volume_z = ma.fields.Float(metadata={"description": "Robust z-score (median, MAD)"})
    negative_share_z = ma.fields.Float(allow_none=True)
    top_channels = ma.fields.List(ma.fields.Nested(ChannelCountSchema))
    customers = ma.fields.List(
        ma.fields.Nested(DriverSchema),
        metadata={"description": "Customers with the most mentions of the alert's tone"},
    )


class AlertsSchema(ma.Schema):
    days = ma.fields.List(ma.fields.Nested(DaySchema))
    alerts = ma.fields.List(ma.fields.Nested(AlertSchema))


class MentionOutSchema(ma.Schema):
    external_id = ma.fields.String()
    channel = ma.fields.String()
    sentiment = ma.fields.Float()
    text = ma.fields.String(allow_none=True)
    occurred_at = ma.fields.AwareDateTime()


class VoiceSchema(ma.Schema):
    customer = ma.fields.String()
    mentions = ma.fields.Integer()
    positive = ma.fields.Integer()
    negative = ma.fields.Integer()
    net_sentiment = ma.fields.Float(metadata={"description": "Sum of the mentions' scores"})
    mean_sentiment = ma.fields.Float()
    latest_mentions = ma.fields.List(ma.fields.Nested(MentionOutSchema))


class GateSchema(ma.Schema):
    snapshot_version = ma.fields.Integer()
    eligible = ma.fields.Boolean()
    gates = ma.fields.List(ma.fields.String(), metadata={"description": "Why gated out"})


class DetractorSchema(VoiceSchema):
    ranking = ma.fields.Nested(
        GateSchema,
        allow_none=True,
        metadata={"description": "The latest ranking's verdict; null when not ranked"},
    )


class SupportersSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(VoiceSchema))


class DetractorsSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DetractorSchema))


# --- routes ---------------------------------------------------------------


@blp.route("/alerts")
class Alerts(MethodView):
    @blp.endpoint("read", AlertsSchema, query=RangeArgsSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Mentions per local day against the trailing 28-day median, and the alerts."""
        days, alerts = in_workspace(service.mention_alerts, **args)
        return {"days": days, "alerts": alerts}


def _voices(args: dict[str, Any], polarity: str) -> dict[str, Any]:
    return {"items": in_workspace(service.rank_voices, polarity=polarity, **args)}


@blp.route("/supporters")
class Supporters(MethodView):
    @blp.endpoint("read", SupportersSchema, query=VoicesArgsSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Customers with the strongest positive sentiment over the range."""
        return _voices(args, "supporters")


@blp.route("/detractors")
class Detractors(MethodView):
    @blp.endpoint("read", DetractorsSchema, query=VoicesArgsSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Customers with the strongest negative sentiment, and why the ranking gates them."""
        return _voices(args, "detractors")
