"""The enrollment endpoints' schemas: whom to enroll, the report, the list of advocates."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from advocacy.api.common import PageArgsSchema, page_schema
from advocacy.fields import ExternalId
from advocacy.graph.selection import STRATEGIES


class EnrollArgsSchema(ma.Schema):
    """Either named customers, or a strategy and k over the latest ranking."""

    customers = ma.fields.List(
        ExternalId(),
        validate=ma.validate.Length(min=1, max=1000),
        metadata={"description": "Customer external ids (manual enrollment), up to 1,000"},
    )
    strategy = ma.fields.String(
        validate=ma.validate.OneOf(STRATEGIES),
        metadata={"description": "top scores, coverage of distinct people, or spread"},
    )
    k = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=1000))

    @ma.validates_schema
    def _one_way(self, data: dict[str, Any], **_: Any) -> None:
        if "customers" in data:
            if "strategy" in data:
                raise ma.ValidationError("Give customers or a strategy, not both.", "strategy")
            if "k" in data:
                raise ma.ValidationError("k goes with a strategy.", "k")
        elif "strategy" not in data:
            raise ma.ValidationError("Give customers, or a strategy and k.", "customers")
        elif "k" not in data:
            raise ma.ValidationError("Required with a strategy.", "k")


class EnrollmentListArgsSchema(PageArgsSchema):
    withdrawn = ma.fields.Boolean(
        load_default=None, metadata={"description": "Only withdrawn (true) or active (false)"}
    )


class SnapshotRefSchema(ma.Schema):
    id = ma.fields.Integer()
    version = ma.fields.Integer()


class EnrollResultSchema(ma.Schema):
    customer = ma.fields.String()
    status = ma.fields.String(metadata={"description": "enrolled, already_enrolled or refused"})
    reason = ma.fields.String(
        allow_none=True,
        metadata={"description": "Why refused: unknown_customer, no_contact_consent, detractor"},
    )
    detail = ma.fields.String(allow_none=True)
    note = ma.fields.String(
        allow_none=True, metadata={"description": "e.g. 'not ranked yet' (no ranking covers them)"}
    )
    position = ma.fields.Integer(allow_none=True)
    score = ma.fields.Float(allow_none=True)
    marginal_gain = ma.fields.Float(allow_none=True)


class EnrollSummarySchema(ma.Schema):
    enrolled = ma.fields.Integer()
    already_enrolled = ma.fields.Integer()
    refused = ma.fields.Integer()


class EnrollReportSchema(ma.Schema):
    method = ma.fields.String(metadata={"description": "manual, top, coverage or spread"})
    snapshot = ma.fields.Nested(
        SnapshotRefSchema, allow_none=True, metadata={"description": "Ranking used; null if none"}
    )
    expected_reach = ma.fields.Float(allow_none=True)
    summary = ma.fields.Nested(EnrollSummarySchema)
    results = ma.fields.List(ma.fields.Nested(EnrollResultSchema))


_ENROLLMENT_COLUMNS = (
    "method",
    "position",
    "score",
    "marginal_gain",
    "snapshot_id",
    "enrolled_by_key_id",
    "enrolled_by_staff_id",
    "enrolled_at",
    "withdrawn_at",
)


class EnrollmentSchema(ma.Schema):
    customer = ma.fields.String()
    active = ma.fields.Boolean()
    method = ma.fields.String(metadata={"description": "manual, top, coverage or spread"})
    position = ma.fields.Integer(allow_none=True, metadata={"description": "Place in selection"})
    score = ma.fields.Float(allow_none=True)
    marginal_gain = ma.fields.Float(allow_none=True)
    snapshot_id = ma.fields.Integer(allow_none=True)
    snapshot_version = ma.fields.Integer(
        allow_none=True, metadata={"description": "null once the snapshot has been pruned"}
    )
    enrolled_by_key_id = ma.fields.Integer(allow_none=True)
    enrolled_by_staff_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "The staff member, when enrolled in the console"}
    )
    enrolled_at = ma.fields.DateTime()
    withdrawn_at = ma.fields.DateTime(allow_none=True)

    @ma.pre_dump
    def _from_row(self, row: Any, **_: Any) -> dict[str, Any]:
        """An (enrollment, customer external id, snapshot version) row."""
        enrollment, external_id, version = row
        return {
            **{name: getattr(enrollment, name) for name in _ENROLLMENT_COLUMNS},
            "customer": external_id,
            "active": enrollment.withdrawn_at is None,
            "snapshot_version": version,
        }


EnrollmentPageSchema = page_schema("EnrollmentPageSchema", EnrollmentSchema)
