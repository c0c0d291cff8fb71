"""The data export's output schemas: everything held about one person, by kind."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from advocacy.api.conversions import EarnedRewardSchema
from advocacy.customers.service import CONNECTION_COLUMNS, ConnectionView


class ConsentOutSchema(ma.Schema):
    email = ma.fields.Boolean()
    sms = ma.fields.Boolean()
    social = ma.fields.Boolean()


class CustomerSchema(ma.Schema):
    external_id = ma.fields.String()
    email = ma.fields.String(allow_none=True)
    first_name = ma.fields.String(allow_none=True)
    last_name = ma.fields.String(allow_none=True)
    locale = ma.fields.String(allow_none=True)
    followers = ma.fields.Integer(allow_none=True)
    consent = ma.fields.Nested(ConsentOutSchema)
    attributes = ma.fields.Dict()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ConnectionSchema(ma.Schema):
    source = ma.fields.String()
    target = ma.fields.String()
    direction = ma.fields.String(metadata={"description": "out: they interact; in: with them"})
    channel = ma.fields.String()
    replies = ma.fields.Integer()
    likes = ma.fields.Integer()
    shares = ma.fields.Integer()
    messages = ma.fields.Integer()
    follows = ma.fields.Boolean()
    sentiment = ma.fields.Float(allow_none=True)
    last_interaction_at = ma.fields.DateTime(allow_none=True)
    updated_at = ma.fields.DateTime()

    @ma.pre_dump
    def _from_view(self, view: ConnectionView, **_: Any) -> dict[str, Any]:
        tie = view.connection
        return {
            **{name: getattr(tie, name) for name in ("channel", *CONNECTION_COLUMNS)},
            "source": view.source,
            "target": view.target,
            "direction": view.direction,
            "updated_at": tie.updated_at,
        }


class EventSchema(ma.Schema):
    event_id = ma.fields.String(allow_none=True)
    kind = ma.fields.String()
    label = ma.fields.String(allow_none=True)
    value = ma.fields.Integer(allow_none=True)
    amount = ma.fields.Integer(allow_none=True)
    currency = ma.fields.String(allow_none=True)
    occurred_at = ma.fields.DateTime()


class MentionSchema(ma.Schema):
    external_id = ma.fields.String()
    channel = ma.fields.String()
    text = ma.fields.String(allow_none=True)
    language = ma.fields.String(allow_none=True)
    sentiment = ma.fields.Float()
    sentiment_source = ma.fields.String()
    reach = ma.fields.Integer(allow_none=True)
    occurred_at = ma.fields.DateTime()


class ExportedConversionSchema(ma.Schema):
    event_id = ma.fields.String()
    event = ma.fields.String()
    amount = ma.fields.Integer(allow_none=True)
    currency = ma.fields.String(allow_none=True)
    refunded_amount = ma.fields.Integer()
    occurred_at = ma.fields.DateTime()
    attributed = ma.fields.Boolean()
    reason = ma.fields.String(allow_none=True)
    email_normalized = ma.fields.String(allow_none=True)
    ref = ma.fields.String(allow_none=True)
    visitor_id = ma.fields.String(allow_none=True)
    ip_hash = ma.fields.String(allow_none=True, metadata={"description": "Keyed hash of the IP"})
    user_agent = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class ExportedReferralSchema(ma.Schema):
    id = ma.fields.Integer()
    role = ma.fields.String(metadata={"description": "inviter or invitee"})
    campaign_id = ma.fields.Integer()
    event_id = ma.fields.String()
    advocate = ma.fields.String(allow_none=True)
    invitee = ma.fields.String(allow_none=True)
    evidence = ma.fields.String()
    link_id = ma.fields.Integer()
    click_id = ma.fields.Integer(allow_none=True)
    touched_at = ma.fields.DateTime()
    state = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class BalanceSchema(ma.Schema):
    unit = ma.fields.String()
    amount = ma.fields.Integer()


class ExportedRewardsSchema(ma.Schema):
    balance = ma.fields.List(ma.fields.Nested(BalanceSchema))
    items = ma.fields.List(ma.fields.Nested(EarnedRewardSchema))


class ExportedLinkSchema(ma.Schema):
    id = ma.fields.Integer()
    campaign_id = ma.fields.Integer()
    channel = ma.fields.String()
    advocate = ma.fields.String(allow_none=True)
    invitee = ma.fields.String(allow_none=True)
    token = ma.fields.String()
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)
    clicks = ma.fields.Integer()


class ExportedEnrollmentSchema(ma.Schema):
    campaign_id = ma.fields.Integer()
    method = ma.fields.String()
    position = ma.fields.Integer(allow_none=True)
    score = ma.fields.Float(allow_none=True)
    marginal_gain = ma.fields.Float(allow_none=True)
    enrolled_at = ma.fields.DateTime()
    withdrawn_at = ma.fields.DateTime(allow_none=True)


class ExportedAssignmentSchema(ma.Schema):
    campaign_id = ma.fields.Integer()
    experiment_id = ma.fields.Integer()
    unit = ma.fields.String()
    variant = ma.fields.String()
    assigned_at = ma.fields.DateTime()


class ExportedScoreSchema(ma.Schema):
    snapshot_version = ma.fields.Integer()
    computed_at = ma.fields.DateTime()
    eligible = ma.fields.Boolean()
    components = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float())
    scores = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float())
    ranks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class ExplainedScoreSchema(ma.Schema):
    rank = ma.fields.Integer()
    score = ma.fields.Float()
    eligible = ma.fields.Boolean()
    gates = ma.fields.List(ma.fields.String())
    reasons = ma.fields.List(ma.fields.String())


class ExportedRankingSchema(ma.Schema):
    scores = ma.fields.List(ma.fields.Nested(ExportedScoreSchema))
    latest = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Nested(ExplainedScoreSchema),
        metadata={"description": "The latest snapshot, explained, per objective"},
    )


class ExportedShareSchema(ma.Schema):
    share_id = ma.fields.String()
    campaign_id = ma.fields.Integer()
    channel = ma.fields.String()
    link_id = ma.fields.Integer(allow_none=True)
    impressions = ma.fields.Integer(allow_none=True)
    occurred_at = ma.fields.DateTime()


class ExportedClickSchema(ma.Schema):
    id = ma.fields.Integer()
    campaign_id = ma.fields.Integer()
    link_id = ma.fields.Integer()
    visitor_id = ma.fields.String()
    ip_hash = ma.fields.String()
    user_agent = ma.fields.String(allow_none=True)
    unique_visit = ma.fields.Boolean()
    clicked_at = ma.fields.DateTime()


def _many(schema: type[ma.Schema], description: str) -> ma.fields.List:
    return ma.fields.List(ma.fields.Nested(schema), metadata={"description": description})


class CustomerExportSchema(ma.Schema):
    customer = ma.fields.Nested(CustomerSchema)
    events = _many(EventSchema, "CRM engagement events")
    mentions = _many(MentionSchema, "What they said, as the listening tool reported it")
    connections = _many(ConnectionSchema, "Their ties, both directions")
    conversions = _many(ExportedConversionSchema, "Their sign-ups and purchases, with evidence")
    referrals = _many(ExportedReferralSchema, "Referrals where they invited or were invited")
    rewards = ma.fields.Nested(ExportedRewardsSchema)
    links = _many(ExportedLinkSchema, "The links they share")
    invitations = _many(ExportedLinkSchema, "Personal invitations addressed to them")
    enrollments = _many(ExportedEnrollmentSchema, "Campaigns they were enrolled in")
    experiment_assignments = _many(ExportedAssignmentSchema, "Experiment variants")
    ranking = ma.fields.Nested(ExportedRankingSchema)
    shares = _many(ExportedShareSchema, "Shares reported for them")
    clicks = _many(ExportedClickSchema, "Their own visits of referral links")
