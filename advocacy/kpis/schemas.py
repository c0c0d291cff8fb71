"""The shape of one reported share (validated item by item in a batch)."""

from __future__ import annotations

import marshmallow as ma

from advocacy.fields import MAX_INT63, Count, ExternalId, Slug, Timestamp


class ShareItemSchema(ma.Schema):
    share_id = ExternalId(
        required=True, metadata={"description": "The reporter's id; re-sending it is harmless"}
    )
    campaign_id = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(min=1, max=MAX_INT63)
    )
    advocate = ExternalId(required=True, metadata={"description": "Enrolled customer's id"})
    channel = Slug(required=True)
    link_id = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=ma.validate.Range(min=1, max=MAX_INT63),
        metadata={"description": "The advocate's referral link that was shared"},
    )
    impressions = Count(
        maximum=MAX_INT63,
        load_default=None,
        allow_none=True,
        metadata={"description": "Impressions reported by the channel, when known"},
    )
    occurred_at = Timestamp(required=True)
