"""Batch ingestion of events, mentions and connections, and bulk file imports."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView

from advocacy.api.auth import ApiBlueprint
from advocacy.api.common import BatchResultSchema, commit_batch, in_workspace
from advocacy.api.quotas import BATCHES, IMPORTS, per_key_limit
from advocacy.customers import schemas as ins
from advocacy.extensions import db
from advocacy.fields import BatchItems
from advocacy.ingest.batch import KINDS, ingest_items
from advocacy.ingest.imports import MAX_LISTED_ERRORS, run_import
from advocacy.ingest.reading import RowLimits

blp = ApiBlueprint("ingest", __name__, url_prefix="/api/v1", description="Ingestion")


class EventBatchSchema(ma.Schema):
    items = BatchItems(ins.EventItemSchema)


class MentionBatchSchema(ma.Schema):
    items = BatchItems(ins.MentionItemSchema)


class ConnectionBatchSchema(ma.Schema):
    items = BatchItems(ins.ConnectionItemSchema)


class ImportArgsSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(sorted(KINDS)))


class ImportErrorSchema(ma.Schema):
    line = ma.fields.Integer()
    field = ma.fields.String()
    message = ma.fields.String()


class ImportReportSchema(ma.Schema):
    kind = ma.fields.String()
    format = ma.fields.String()
    rows = ma.fields.Integer()
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()
    rejected = ma.fields.Integer()
    errors = ma.fields.List(
        ma.fields.Nested(ImportErrorSchema),
        metadata={"description": f"Rejected rows' errors, the first {MAX_LISTED_ERRORS}"},
    )
    errors_truncated = ma.fields.Boolean()


def _apply_batch(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return commit_batch(ingest_items, kind=kind, raw_items=payload["items"])


@blp.route("/events")
class Events(MethodView):
    @blp.requires("write")
    @per_key_limit(blp, BATCHES)
    @blp.arguments(EventBatchSchema)
    @blp.response(200, BatchResultSchema)
    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Record up to 1,000 CRM engagement events; bad items are reported, good ones applied."""
        return _apply_batch("events", payload)


@blp.route("/mentions")
class Mentions(MethodView):
    @blp.requires("write")
    @per_key_limit(blp, BATCHES)
    @blp.arguments(MentionBatchSchema)
    @blp.response(200, BatchResultSchema)
    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Upsert up to 1,000 mentions by external_id, scoring text without a sentiment."""
        return _apply_batch("mentions", payload)


@blp.route("/connections")
class Connections(MethodView):
    @blp.requires("write")
    @per_key_limit(blp, BATCHES)
    @blp.arguments(ConnectionBatchSchema)
    @blp.response(200, BatchResultSchema)
    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Upsert up to 1,000 directed connections by (source, target, channel)."""
        return _apply_batch("connections", payload)


@blp.route("/imports")
class Imports(MethodView):
    @blp.requires("write")
    @per_key_limit(blp, IMPORTS)
    @blp.arguments(ImportArgsSchema, location="query")
    @blp.response(200, ImportReportSchema)
    @blp.problem_response(413, "The file, or one of its rows, is over its size limit")
    @blp.problem_response(415, "Neither NDJSON nor CSV")
    @blp.problem_response(422, "Not UTF-8, malformed CSV, or a CSV row with too many cells")
    @blp.doc(
        requestBody={
            "required": True,
            "description": "One item per line (NDJSON) or per row (CSV, dotted headers "
            "such as consent.email for nested fields), as in the batch endpoints.",
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    )
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Bulk-load customers, events, mentions or connections from a streamed file."""
        config = current_app.config
        request.max_content_length = config["IMPORT_MAX_CONTENT_LENGTH"]
        report = in_workspace(
            run_import,
            kind=args["kind"],
            content_type=request.content_type,
            stream=request.stream,
            limits=RowLimits(config["IMPORT_MAX_ROW_BYTES"], config["IMPORT_MAX_ROW_CELLS"]),
        )
        body = ImportReportSchema().dump(report)
        db.session.commit()
        return body
