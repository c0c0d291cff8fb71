"""One path for JSON batches and file imports: validate item by item, apply in bulk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import marshmallow as ma
from sqlalchemy.exc import IntegrityError

from advocacy.customers import schemas, service
from advocacy.customers.service import REJECTED, Outcome
from advocacy.errors import flatten_errors
from advocacy.types import DbSession

T = TypeVar("T")


class Apply(Protocol):
    def __call__(
        self, session: DbSession, *, workspace_id: int, items: Sequence[dict[str, Any]]
    ) -> list[Outcome]: ...


@dataclass(frozen=True)
class Kind:
    schema: type[ma.Schema]
    apply: Apply
    key: Callable[[dict[str, Any]], str]


KINDS: dict[str, Kind] = {
    "customers": Kind(
        schemas.CustomerItemSchema, service.upsert_customers, lambda i: i["external_id"]
    ),
    "events": Kind(
        schemas.EventItemSchema,
        service.record_events,
        lambda i: i.get("event_id") or i["customer"],
    ),
    "mentions": Kind(
        schemas.MentionItemSchema, service.record_mentions, lambda i: i["external_id"]
    ),
    "connections": Kind(
        schemas.ConnectionItemSchema,
        service.upsert_connections,
        lambda i: f"{i['source']}>{i['target']}@{i['channel']}",
    ),
}


@dataclass(frozen=True)
class ItemResult:
    index: int
    status: str
    key: str | None = None
    errors: dict[str, list[str]] | None = None


def ingest_items(
    session: DbSession,
    *,
    workspace_id: int,
    kind: str,
    raw_items: Sequence[Any],
    defaults: dict[str, Any] | None = None,
) -> list[ItemResult]:
    """Validate each raw item, apply the valid ones in bulk; one result per item, in order."""
    spec = KINDS[kind]
    schema = spec.schema()
    results: list[ItemResult | None] = [None] * len(raw_items)
    valid: list[tuple[int, dict[str, Any]]] = []
    for index, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            results[index] = ItemResult(index, REJECTED, errors={"_schema": ["Not an object."]})
            continue
        try:
            item = schema.load({**raw, **(defaults or {})})
        except ma.ValidationError as exc:
            results[index] = ItemResult(index, REJECTED, errors=flatten_errors(exc.messages))
            continue
        valid.append((index, item))
    items = [item for _, item in valid]
    outcomes = (
        retry_on_conflict(
            session, lambda: spec.apply(session, workspace_id=workspace_id, items=items)
        )
        if valid
        else []
    )
    for (index, item), outcome in zip(valid, outcomes, strict=True):
        results[index] = ItemResult(index, outcome.status, spec.key(item), outcome.errors)
    session.flush()
    return [r for r in results if r is not None]


def retry_on_conflict(session: DbSession, write: Callable[[], T]) -> T:
    """Run an upsert in a savepoint; if a concurrent request inserted the same keys first
    (a unique violation), run it once more: it now sees their rows and updates them, so
    identical concurrent PUTs all succeed instead of one winning and the rest getting 409.
    """
    try:
        with session.begin_nested():
            return write()
    except IntegrityError:
        return write()


def summarise(results: Sequence[ItemResult]) -> dict[str, int]:
    summary = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    for result in results:
        summary[result.status] += 1
    return summary
