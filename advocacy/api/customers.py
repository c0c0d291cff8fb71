"""Customers: upsert, read, list, erase, export; their events and connections."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from advocacy.api.auth import ApiBlueprint, current_principal
from advocacy.api.common import (
    NO_CUSTOMER,
    ItemResultSchema,
    PageArgsSchema,
    commit_in_workspace,
    in_workspace,
    page_schema,
    workspace_page,
)
from advocacy.api.privacy import ConnectionSchema, CustomerExportSchema, CustomerSchema
from advocacy.customers import schemas as ins
from advocacy.customers import service
from advocacy.errors import Unprocessable
from advocacy.extensions import db
from advocacy.fields import ExternalId, Timestamp
from advocacy.ingest.batch import retry_on_conflict
from advocacy.privacy.erasure import erase_customer
from advocacy.privacy.export import export_customer
from advocacy.types import utcnow
from advocacy.web.views import forget_cached_links

blp = ApiBlueprint("customers", __name__, url_prefix="/api/v1/customers", description="Customers")


CustomerPageSchema = page_schema("CustomerPageSchema", CustomerSchema)


class CustomerListArgsSchema(PageArgsSchema):
    updated_since = Timestamp(load_default=None)


class CustomerWriteResultSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "created, updated or unchanged"})
    customer = ma.fields.Nested(CustomerSchema)


ConnectionPageSchema = page_schema("ConnectionPageSchema", ConnectionSchema)


@blp.route("")
class Customers(MethodView):
    @blp.endpoint("read", CustomerPageSchema, query=CustomerListArgsSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List customers, oldest change first, with a cursor."""
        return workspace_page(service.list_customers, **args)


@blp.route("/<string:external_id>")
class CustomerResource(MethodView):
    @blp.endpoint("read", CustomerSchema, problems=NO_CUSTOMER)
    def get(self, external_id: str) -> Any:
        """Read one customer."""
        return in_workspace(service.get_customer, external_id=external_id)

    @blp.endpoint("write", CustomerWriteResultSchema, body=ins.CustomerFieldsSchema)
    def put(self, fields: dict[str, Any], external_id: str) -> dict[str, Any]:
        """Create or replace a customer by their CRM id (idempotent)."""
        external_id = _checked_external_id(external_id)
        workspace_id = current_principal().workspace_id
        item = {**fields, "external_id": external_id}
        (outcome,) = retry_on_conflict(
            db.session,
            lambda: service.upsert_customers(db.session, workspace_id=workspace_id, items=[item]),
        )
        customer = service.get_customer(
            db.session, workspace_id=workspace_id, external_id=external_id
        )
        db.session.commit()
        return {"status": outcome.status, "customer": customer}

    @blp.endpoint("write", status=204, problems=NO_CUSTOMER)
    def delete(self, external_id: str) -> None:
        """Erase a customer: every personal field in every table (see README, Privacy)."""
        erasure = commit_in_workspace(erase_customer, external_id=external_id, now=utcnow())
        forget_cached_links(erasure.revoked_link_ids)


@blp.route("/<string:external_id>/export")
class CustomerExport(MethodView):
    @blp.endpoint("read", CustomerExportSchema, problems=NO_CUSTOMER)
    def get(self, external_id: str) -> dict[str, Any]:
        """Everything held about a customer, grouped by kind."""
        return in_workspace(export_customer, external_id=external_id)


@blp.route("/<string:external_id>/connections")
class CustomerConnections(MethodView):
    @blp.endpoint("read", ConnectionPageSchema, query=PageArgsSchema, problems=NO_CUSTOMER)
    def get(self, args: dict[str, Any], external_id: str) -> dict[str, Any]:
        """A customer's connections, both directions."""
        return workspace_page(service.list_connections, external_id=external_id, **args)


@blp.route("/<string:external_id>/events")
class CustomerEvents(MethodView):
    @blp.requires("write")
    @blp.arguments(ins.EventFieldsSchema)
    @blp.response(201, ItemResultSchema)
    @blp.alt_response(200, schema=ItemResultSchema, description="Already recorded (event_id)")
    @blp.problem_response(404, "No such customer in this workspace")
    def post(self, fields: dict[str, Any], external_id: str) -> Any:
        """Record one CRM engagement event for a customer."""
        workspace_id = current_principal().workspace_id
        service.get_customer(db.session, workspace_id=workspace_id, external_id=external_id)
        item = {**fields, "customer": external_id}
        (outcome,) = retry_on_conflict(
            db.session,
            lambda: service.record_events(db.session, workspace_id=workspace_id, items=[item]),
        )
        body = {"index": 0, "key": fields.get("event_id"), "status": outcome.status}
        db.session.commit()
        return body, 201 if outcome.status == "created" else 200


def _checked_external_id(external_id: str) -> str:
    try:
        return str(ExternalId().deserialize(external_id))
    except ma.ValidationError as exc:
        raise Unprocessable(
            "The customer id in the path is not valid.",
            errors={"external_id": [str(m) for m in exc.messages]},
        ) from exc
