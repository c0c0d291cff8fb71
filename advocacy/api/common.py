"""Schemas shared by several resources: pagination and batch results."""

from __future__ import annotations

import marshmallow as ma

from advocacy.fields import Text


class PageArgsSchema(ma.Schema):
    limit = ma.fields.Integer(
        load_default=50,
        validate=ma.validate.Range(min=1, max=100),
        metadata={"description": "1-100"},
    )
    cursor = Text(max_length=512, load_default=None, metadata={"description": "From next_cursor"})


class ItemResultSchema(ma.Schema):
    index = ma.fields.Integer(metadata={"description": "Position in the request's items"})
    key = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"description": "created, updated, unchanged or rejected"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()), allow_none=True
    )


class BatchSummarySchema(ma.Schema):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()
    rejected = ma.fields.Integer()


class BatchResultSchema(ma.Schema):
    summary = ma.fields.Nested(BatchSummarySchema)
    results = ma.fields.List(ma.fields.Nested(ItemResultSchema))


def page_schema(name: str, item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The page envelope of a list endpoint: ``items`` and the ``next_cursor`` to pass back
    (null on the last page). ``name`` is the class name, so the OpenAPI component keeps it."""
    fields = {
        "items": ma.fields.List(ma.fields.Nested(item_schema)),
        "next_cursor": ma.fields.String(allow_none=True),
    }
    return type(name, (ma.Schema,), fields)
