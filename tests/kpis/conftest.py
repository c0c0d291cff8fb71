"""A seeded campaign whose every KPI is computed by hand in the tests.

Advocates ann, bob (active) and cat (enrolled, never active); p1..p4 are people on the graph;
i1..i4 are invitees. In UTC:

- 2026-03-10: ann's link created (1 invite), ann shares it (100 impressions), three clicks:
  visitor v1 twice, v2 once.
- 2026-03-11: nothing.
- 2026-03-12: bob's link created, bob shares twice (impressions unknown, then 50), clicks by
  v1 and v3; attributed: a EUR 100.00 purchase (inviter reward EUR 10.00 issued, invitee
  reward EUR 15.00 pending) and a USD 50.00 purchase (by bob's link, no rewards), a sign-up,
  and a EUR 70.00 purchase whose referral was rejected (not counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from advocacy.customers.models import Connection, Customer
from advocacy.kpis.models import Share
from advocacy.links.models import Click, ReferralLink
from advocacy.rewards.models import Conversion, Referral, Reward
from tests.factories import allow_domains, enroll, make_campaign


def at(day: int, hour: int = 12, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Seeded:
    campaign: Any
    customers: dict[str, int]
    links: dict[str, int]


def add_customers(session: Any, workspace_id: int, *names: str) -> dict[str, int]:
    rows = {n: Customer(workspace_id=workspace_id, external_id=n) for n in names}
    session.add_all(rows.values())
    session.flush()
    return {n: c.id for n, c in rows.items()}


def add_link(
    session: Any, campaign: Any, enrollment: Any, advocate_id: int, created: datetime
) -> int:
    link = ReferralLink(
        workspace_id=campaign.workspace_id,
        campaign_id=campaign.id,
        enrollment_id=enrollment.id,
        advocate_id=advocate_id,
        channel="x",
        token=f"t{advocate_id}-{created.isoformat()}",
        created_at=created,
        expires_at=at(1, month=12),
    )
    session.add(link)
    session.flush()
    return int(link.id)


def add_click(session: Any, campaign: Any, link_id: int, visitor: str, when: datetime) -> None:
    session.add(
        Click(
            workspace_id=campaign.workspace_id,
            campaign_id=campaign.id,
            link_id=link_id,
            visitor_id=visitor,
            ip_hash="h",
            clicked_at=when,
        )
    )


def add_conversion(
    session: Any,
    campaign: Any,
    *,
    link_id: int,
    advocate_id: int,
    invitee_id: int,
    event: str,
    when: datetime,
    amount: int | None = None,
    currency: str | None = None,
    state: str = "converted",
    rewards: tuple[tuple[str, int, str | None, str], ...] = (),
) -> None:
    conversion = Conversion(
        workspace_id=campaign.workspace_id,
        event_id=f"e{invitee_id}-{when.isoformat()}",
        event=event,
        customer_id=invitee_id,
        amount=amount,
        currency=currency,
        occurred_at=when,
        fingerprint="f",
        attributed=True,
    )
    session.add(conversion)
    session.flush()
    referral = Referral(
        workspace_id=campaign.workspace_id,
        campaign_id=campaign.id,
        conversion_id=conversion.id,
        link_id=link_id,
        advocate_id=advocate_id,
        invitee_id=invitee_id,
        evidence="ref",
        touched_at=when,
        state=state,
    )
    session.add(referral)
    session.flush()
    for role, reward_amount, reward_currency, reward_state in rewards:
        session.add(
            Reward(
                workspace_id=campaign.workspace_id,
                campaign_id=campaign.id,
                conversion_id=conversion.id,
                referral_id=referral.id,
                role=role,
                beneficiary_id=advocate_id if role == "inviter" else invitee_id,
                kind="credit",
                amount=reward_amount,
                currency=reward_currency,
                state=reward_state,
            )
        )


@pytest.fixture
def seeded(session: Any, workspace: Any) -> Seeded:
    allow_domains(session, workspace.id, "shop.example")
    ids = add_customers(
        session, workspace.id, "ann", "bob", "cat", "p1", "p2", "p3", "p4", "i1", "i2", "i3", "i4"
    )
    campaign = make_campaign(session, workspace.id)
    enrollments = {n: enroll(session, campaign, n) for n in ("ann", "bob", "cat")}
    for enrollment in enrollments.values():
        enrollment.enrolled_at = at(1)
    for source, target in (
        ("p1", "ann"),
        ("p2", "ann"),
        ("p2", "bob"),
        ("p3", "bob"),
        ("p4", "cat"),
    ):
        session.add(
            Connection(
                workspace_id=workspace.id,
                source_id=ids[source],
                target_id=ids[target],
                channel="x",
                follows=True,
            )
        )
    ann_link = add_link(session, campaign, enrollments["ann"], ids["ann"], at(10, 10))
    bob_link = add_link(session, campaign, enrollments["bob"], ids["bob"], at(12, 9))
    shares = (
        ("s1", "ann", ann_link, 100, at(10, 11)),
        ("s2", "bob", bob_link, None, at(12, 9, 30)),
        ("s3", "bob", bob_link, 50, at(12, 9, 45)),
    )
    for share_id, who, link_id, impressions, when in shares:
        session.add(
            Share(
                workspace_id=workspace.id,
                share_id=share_id,
                campaign_id=campaign.id,
                advocate_id=ids[who],
                channel="x",
                link_id=link_id,
                impressions=impressions,
                occurred_at=when,
            )
        )
    for link_id, visitor, when in (
        (ann_link, "v1", at(10, 12)),
        (ann_link, "v1", at(10, 13)),
        (ann_link, "v2", at(10, 14)),
        (bob_link, "v1", at(12, 10)),
        (bob_link, "v3", at(12, 10, 30)),
    ):
        add_click(session, campaign, link_id, visitor, when)
    bob = {"link_id": bob_link, "advocate_id": ids["bob"]}
    add_conversion(
        session,
        campaign,
        **bob,
        invitee_id=ids["i1"],
        event="purchase",
        when=at(12, 11),
        amount=10_000,
        currency="EUR",
        rewards=(("inviter", 1000, "EUR", "issued"), ("invitee", 1500, "EUR", "pending")),
    )
    add_conversion(
        session,
        campaign,
        **bob,
        invitee_id=ids["i2"],
        event="purchase",
        when=at(12, 12),
        amount=5000,
        currency="USD",
    )
    add_conversion(session, campaign, **bob, invitee_id=ids["i3"], event="signup", when=at(12, 13))
    add_conversion(
        session,
        campaign,
        **bob,
        invitee_id=ids["i4"],
        event="purchase",
        when=at(12, 14),
        amount=7000,
        currency="EUR",
        state="rejected",
        rewards=(("inviter", 1000, "EUR", "rejected"),),
    )
    session.commit()
    return Seeded(campaign, ids, {"ann": ann_link, "bob": bob_link})
