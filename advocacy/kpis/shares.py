"""Recording shares reported in batches: idempotent by ``share_id`` within a workspace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import marshmallow as ma
from sqlalchemy import select, tuple_

from advocacy.campaigns.models import Enrollment
from advocacy.customers.models import Customer
from advocacy.errors import flatten_errors
from advocacy.ingest.batch import ItemResult, retry_on_conflict
from advocacy.kpis.models import Share
from advocacy.kpis.schemas import ShareItemSchema
from advocacy.links.models import ReferralLink
from advocacy.types import DbSession

CREATED, UNCHANGED, REJECTED = "created", "unchanged", "rejected"


def _rejected(index: int, key: str, field: str, message: str) -> ItemResult:
    return ItemResult(index, REJECTED, key, {field: [message]})


def record_shares(
    session: DbSession, *, workspace_id: int, raw_items: Sequence[Any]
) -> list[ItemResult]:
    """Validate each item, insert new shares; a ``share_id`` already known is unchanged."""
    schema = ShareItemSchema()
    results: list[ItemResult | None] = [None] * len(raw_items)
    valid: list[tuple[int, dict[str, Any]]] = []
    for index, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            results[index] = ItemResult(index, REJECTED, errors={"_schema": ["Not an object."]})
            continue
        try:
            valid.append((index, schema.load(raw)))
        except ma.ValidationError as exc:
            results[index] = ItemResult(index, REJECTED, errors=flatten_errors(exc.messages))
    if valid:
        for result in retry_on_conflict(session, lambda: _insert(session, workspace_id, valid)):
            results[result.index] = result
    session.flush()
    return [r for r in results if r is not None]


def _insert(
    session: DbSession, workspace_id: int, valid: list[tuple[int, dict[str, Any]]]
) -> list[ItemResult]:
    items = [item for _, item in valid]
    known = set(
        session.scalars(
            select(Share.share_id).where(
                Share.workspace_id == workspace_id,
                Share.share_id.in_({i["share_id"] for i in items}),
            )
        )
    )
    enrolled = {
        (campaign_id, external_id): customer_id
        for campaign_id, external_id, customer_id in session.execute(
            select(Enrollment.campaign_id, Customer.external_id, Customer.id)
            .join(Customer, Customer.id == Enrollment.customer_id)
            .where(
                Enrollment.workspace_id == workspace_id,
                tuple_(Enrollment.campaign_id, Customer.external_id).in_(
                    {(i["campaign_id"], i["advocate"]) for i in items}
                ),
            )
        )
    }
    link_ids = {i["link_id"] for i in items if i["link_id"] is not None}
    links = {
        link_id: (campaign_id, advocate_id)
        for link_id, campaign_id, advocate_id in session.execute(
            select(ReferralLink.id, ReferralLink.campaign_id, ReferralLink.advocate_id).where(
                ReferralLink.workspace_id == workspace_id, ReferralLink.id.in_(link_ids)
            )
        )
    }
    out: list[ItemResult] = []
    for index, item in valid:
        key = item["share_id"]
        advocate_id = enrolled.get((item["campaign_id"], item["advocate"]))
        if key in known:
            out.append(ItemResult(index, UNCHANGED, key))
        elif advocate_id is None:
            out.append(
                _rejected(
                    index,
                    key,
                    "advocate",
                    "No such campaign, or the advocate is not enrolled in it.",
                )
            )
        elif item["link_id"] is not None and links.get(item["link_id"]) != (
            item["campaign_id"],
            advocate_id,
        ):
            out.append(_rejected(index, key, "link_id", "Not this advocate's link here."))
        else:
            known.add(key)
            session.add(
                Share(
                    workspace_id=workspace_id,
                    share_id=key,
                    campaign_id=item["campaign_id"],
                    advocate_id=advocate_id,
                    channel=item["channel"],
                    link_id=item["link_id"],
                    impressions=item["impressions"],
                    occurred_at=item["occurred_at"],
                )
            )
            out.append(ItemResult(index, CREATED, key))
    session.flush()
    return out
