"""One person as staff see them: recent CRM and mention timeline, who listens to them,
their enrollments, links and referrals. Each read is bounded and uses a per-customer index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from advocacy.campaigns.models import Campaign, Enrollment
from advocacy.customers.models import Connection, Customer, EngagementEvent, Mention
from advocacy.links.models import ReferralLink
from advocacy.rewards.models import Referral
from advocacy.types import DbSession

INTERACTIONS = ("replies", "shares", "messages", "likes")


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "event" or "mention"
    what: str  # event kind, or the mention's channel
    detail: str | None
    value: float | None  # NPS/rating, purchase amount (minor units), or sentiment
    currency: str | None = None


def customer_timeline(
    session: DbSession, *, workspace_id: int, customer: Customer, limit: int = 20
) -> list[TimelineEntry]:
    """The latest CRM events and mentions, newest first."""
    events = session.scalars(
        select(EngagementEvent)
        .where(
            EngagementEvent.workspace_id == workspace_id,
            EngagementEvent.customer_id == customer.id,
        )
        .order_by(EngagementEvent.occurred_at.desc(), EngagementEvent.id.desc())
        .limit(limit)
    )
    mentions = session.scalars(
        select(Mention)
        .where(Mention.customer_id == customer.id, Mention.workspace_id == workspace_id)
        .order_by(Mention.occurred_at.desc(), Mention.id.desc())
        .limit(limit)
    )
    entries = [
        TimelineEntry(
            e.occurred_at,
            "event",
            e.kind,
            e.label,
            e.amount if e.amount is not None else e.value,
            e.currency,
        )
        for e in events
    ] + [
        TimelineEntry(m.occurred_at, "mention", m.channel, m.text, round(m.sentiment, 2))
        for m in mentions
    ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


def customer_listeners(
    session: DbSession, *, workspace_id: int, customer: Customer, limit: int = 20
) -> list[dict[str, Any]]:
    """The people who interact with this customer (they listen to them), most active first.

    A connection ``source -> target`` means the source interacts with the target, so the
    people who listen to a customer are the sources of the ties pointing at them.
    """
    total = Connection.replies + Connection.shares + Connection.messages + Connection.likes
    rows = session.execute(
        select(Connection, Customer.external_id, Customer.first_name, Customer.last_name)
        .join(Customer, Customer.id == Connection.source_id)
        .where(Connection.workspace_id == workspace_id, Connection.target_id == customer.id)
        .order_by(total.desc(), Connection.id)
        .limit(limit)
    )
    return [
        {
            "external_id": external_id,
            "name": " ".join(p for p in (first, last) if p) or None,
            "channel": c.channel,
            **{name: getattr(c, name) for name in INTERACTIONS},
            "follows": c.follows,
            "sentiment": c.sentiment,
            "last_interaction_at": c.last_interaction_at,
        }
        for c, external_id, first, last in rows
    ]


def customer_enrollments(
    session: DbSession, *, workspace_id: int, customer: Customer
) -> list[tuple[Enrollment, Campaign]]:
    """The campaigns the customer is (or was) enrolled in, newest first."""
    rows = session.execute(
        select(Enrollment, Campaign)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .where(Enrollment.customer_id == customer.id, Enrollment.workspace_id == workspace_id)
        .order_by(Enrollment.enrolled_at.desc())
    )
    return [(row[0], row[1]) for row in rows]


def customer_links(
    session: DbSession, *, workspace_id: int, customer: Customer, limit: int = 50
) -> list[ReferralLink]:
    """The customer's referral links, newest first."""
    return list(
        session.scalars(
            select(ReferralLink)
            .join(Enrollment, Enrollment.id == ReferralLink.enrollment_id)
            .where(
                Enrollment.customer_id == customer.id,
                ReferralLink.workspace_id == workspace_id,
            )
            .order_by(ReferralLink.id.desc())
            .limit(limit)
        )
    )


def customer_referrals(
    session: DbSession, *, workspace_id: int, customer: Customer, limit: int = 50
) -> list[dict[str, Any]]:
    """The people this customer referred, newest first, with each referral's state."""
    rows = session.execute(
        select(Referral, Customer.external_id)
        .join(Customer, Customer.id == Referral.invitee_id)
        .where(Referral.advocate_id == customer.id, Referral.workspace_id == workspace_id)
        .order_by(Referral.created_at.desc(), Referral.id.desc())
        .limit(limit)
    )
    return [
        {
            "invitee": invitee,
            "campaign_id": r.campaign_id,
            "state": r.state,
            "reason": r.reason,
            "evidence": r.evidence,
            "created_at": r.created_at,
        }
        for r, invitee in rows
    ]


def customer_names(
    session: DbSession, *, workspace_id: int, external_ids: list[str]
) -> dict[str, str | None]:
    """Display names of a page of customers, in one query."""
    if not external_ids:
        return {}
    rows = session.execute(
        select(Customer.external_id, Customer.first_name, Customer.last_name).where(
            Customer.workspace_id == workspace_id, Customer.external_id.in_(external_ids)
        )
    )
    return {
        external_id: " ".join(p for p in (first, last) if p) or None
        for external_id, first, last in rows
    }
