"""What several resources share: pagination and batch result schemas, and the calls views
make to a service in the API key's workspace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import marshmallow as ma

from advocacy.api.auth import current_principal
from advocacy.extensions import db
from advocacy.fields import Text
from advocacy.ingest.batch import summarise

T = TypeVar("T")

# The 404 answers that views of several resources document (``problems=`` of blp.endpoint).
NO_CAMPAIGN = {404: "No such campaign in this workspace"}
NO_CUSTOMER = {404: "No such customer in this workspace"}


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


def in_workspace(service: Callable[..., T], /, **kwargs: Any) -> T:
    """Call a service function with the request's session, in the API key's workspace."""
    return service(db.session, workspace_id=current_principal().workspace_id, **kwargs)


def commit_in_workspace(service: Callable[..., T], /, **kwargs: Any) -> T:
    """Call a writing service function in the API key's workspace, then commit once. Its
    result is the response body: built before the commit, so nothing is reloaded."""
    result = in_workspace(service, **kwargs)
    db.session.commit()
    return result


def commit_batch(apply_items: Callable[..., list[Any]], /, **kwargs: Any) -> dict[str, Any]:
    """Apply a batch in the API key's workspace and commit: the per-item results and their
    summary, dumped before the commit."""
    results = in_workspace(apply_items, **kwargs)
    body = BatchResultSchema().dump({"summary": summarise(results), "results": results})
    db.session.commit()
    return body


def workspace_page(list_items: Callable[..., tuple[Any, Any]], /, **kwargs: Any) -> dict[str, Any]:
    """A list endpoint's page: the service's items and the cursor of the next page."""
    items, cursor = in_workspace(list_items, **kwargs)
    return {"items": items, "next_cursor": cursor}
