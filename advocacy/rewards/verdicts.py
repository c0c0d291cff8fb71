"""Deciding what an attributed conversion earns: the offer, and the fraud verdict.

The offer is the experiment's variant for the advocate or invitee, else the campaign's
own. The verdict comes from the pure fraud rules (``fraud``) over facts read here: both
people's identities, the invitee's first purchase, and the limits (budget, cap, velocity,
one reward per invitee), counted under row locks (PostgreSQL ``FOR NO KEY UPDATE`` on the
campaign when it has a budget, and on the advocate's and invitee's customer rows) so
concurrent conversions cannot both take the last of something.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select

from advocacy.campaigns.models import Campaign
from advocacy.campaigns.rules import Offer, campaign_is_live
from advocacy.customers.models import Customer, EngagementEvent
from advocacy.experiments.assignment import conversion_offer
from advocacy.rewards import fraud, rules
from advocacy.rewards.attribution import Touch
from advocacy.rewards.models import Conversion, Referral, Reward
from advocacy.types import DbSession


@dataclass(frozen=True)
class Invitee:
    id: int
    external_id: str
    email: str | None  # normalised, as reported
    emails: frozenset[str]  # normalised: as reported, and as the CRM stored it


@dataclass(frozen=True)
class Verdict:
    """What the conversion earns: the sides of its offer and the state they start in."""

    sides: list[dict[str, Any]]
    state: str | None  # None: nothing to reward (not the campaign's trigger, no offer)
    reasons: list[str]
    approve_after: datetime
    approve_now: bool  # no return window left: approved as they are written
    triggered: bool


def advocate_identity(
    session: DbSession, *, touch: Touch, invitee: Invitee, conversion: Conversion
) -> tuple[fraud.Identity, str]:
    """What we know of both people's identities; also the advocate's external id."""
    # The advocate, and their own conversions (emails, visitor ids, devices), in one query.
    rows = session.execute(
        select(
            Customer.external_id,
            Customer.email_normalized.label("stored_email"),
            Conversion.email_normalized,
            Conversion.visitor_id,
            Conversion.ip_hash,
            Conversion.user_agent,
        )
        .outerjoin(
            Conversion,
            and_(Conversion.customer_id == Customer.id, Conversion.id != conversion.id),
        )
        .where(Customer.id == touch.advocate_id)
        .order_by(Conversion.occurred_at.desc())
        .limit(200)
    ).all()
    advocate = rows[0]
    own = [r for r in rows if r.visitor_id or r.ip_hash or r.email_normalized]
    emails = {e for e in [advocate.stored_email, *(r.email_normalized for r in own)] if e}
    device = (conversion.ip_hash, conversion.user_agent or "") if conversion.ip_hash else None
    identity = fraud.Identity(
        advocate_id=touch.advocate_id,
        invitee_id=invitee.id,
        advocate_emails=frozenset(emails),
        invitee_emails=invitee.emails,
        advocate_visitor_ids=frozenset(r.visitor_id for r in own if r.visitor_id),
        invitee_visitor_id=conversion.visitor_id,
        advocate_devices=frozenset((r.ip_hash, r.user_agent or "") for r in own if r.ip_hash),
        invitee_device=device,
    )
    return identity, advocate.external_id


def decide_verdict(
    session: DbSession,
    *,
    campaign: Campaign,
    conversion: Conversion,
    touch: Touch,
    invitee: Invitee,
    identity: fraud.Identity,
    velocity_limit: int,
    now: datetime,
) -> Verdict:
    """The offer (an experiment's variant, or the campaign's own) and the fraud verdict."""
    occurred_at = conversion.occurred_at
    offer = conversion_offer(
        session,
        campaign=campaign,
        advocate_id=touch.advocate_id,
        invitee_id=invitee.id,
        invitee=invitee.external_id,
        at=occurred_at,
    )
    triggered = conversion.event == campaign.trigger_event
    sides = offer_sides(offer, touch.advocate_id, invitee.id) if triggered else []
    state: str | None = None
    reasons: list[str] = []
    if sides:
        first_purchase = _first_purchase(session, invitee.id, conversion.id)
        findings = fraud.check_identity(identity) + fraud.check_order(
            fraud.Order(
                event=conversion.event,
                amount=conversion.amount,
                min_order_amount=campaign.min_order_amount or 0,
                first_purchase_only=campaign.first_purchase_only,
                campaign_live=campaign_is_live(campaign, occurred_at),
                purchased_before_touch=first_purchase is not None
                and first_purchase < touch.touched_at,
                purchased_before=first_purchase is not None and first_purchase < occurred_at,
                invitee_email_domains=fraud.email_domains(identity.invitee_emails),
            )
        )
        if not any(f.action == fraud.REJECT for f in findings):
            # Only rewards that may be paid take a share of the limits.
            total = sum(s["amount"] for s in sides)
            findings += fraud.check_limits(
                _limits(session, campaign, touch, invitee.id, total, velocity_limit, now)
            )
        state, reasons = fraud.verdict(findings)
    due = rules.approve_after(occurred_at, campaign.hold_days or 0)
    approve_now = state == rules.PENDING and due <= now
    return Verdict(sides, state, reasons, due, approve_now, triggered)


def offer_sides(offer: Offer, advocate_id: int, invitee_id: int) -> list[dict[str, Any]]:
    """The rewards an offer makes, one per rewarded side."""
    sides = []
    for role, beneficiary in (("inviter", advocate_id), ("invitee", invitee_id)):
        kind = getattr(offer, f"{role}_reward_kind")
        if kind is not None:
            sides.append(
                {
                    "role": role,
                    "beneficiary_id": beneficiary,
                    "kind": kind,
                    "amount": int(getattr(offer, f"{role}_reward_amount") or 0),
                    "currency": getattr(offer, f"{role}_reward_currency"),
                }
            )
    return sides


def _first_purchase(session: DbSession, invitee_id: int, conversion_id: int) -> datetime | None:
    """The invitee's earliest purchase we know of (CRM events and other conversions)."""
    crm = (
        select(func.min(EngagementEvent.occurred_at))
        .where(EngagementEvent.customer_id == invitee_id, EngagementEvent.kind == "purchase")
        .scalar_subquery()
    )
    reported = (
        select(func.min(Conversion.occurred_at))
        .where(
            Conversion.customer_id == invitee_id,
            Conversion.event == "purchase",
            Conversion.id != conversion_id,
        )
        .scalar_subquery()
    )
    row = session.execute(select(crm, reported)).one()
    times = [_aware(value) for value in row if value is not None]
    return min(times) if times else None


def _aware(value: Any) -> datetime:
    """An aggregate's timestamp as an aware UTC datetime, whatever the driver returned."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_LIVE_REWARDS = Reward.state.in_(rules.LIVE)


def _rewarded_referrals(*conditions: Any) -> Any:
    """How many referrals matching ``conditions`` hold a live reward."""
    return (
        select(func.count(func.distinct(Reward.referral_id)))
        .select_from(Referral)
        .join(Reward, Reward.referral_id == Referral.id)
        .where(_LIVE_REWARDS, *conditions)
        .scalar_subquery()
    )


def _limits(
    session: DbSession,
    campaign: Campaign,
    touch: Touch,
    invitee_id: int,
    reward_total: int,
    velocity_limit: int,
    now: datetime,
) -> fraud.Limits:
    """Lock, then count what the limits need; the locks last until commit."""
    if campaign.budget is not None:
        session.execute(
            select(Campaign.id).where(Campaign.id == campaign.id).with_for_update(key_share=True)
        ).all()
    session.execute(
        select(Customer.id)
        .where(Customer.id.in_({touch.advocate_id, invitee_id}))
        .order_by(Customer.id)
        .with_for_update(key_share=True)
    ).all()
    spent = (
        select(func.coalesce(func.sum(Reward.amount), 0))
        .where(Reward.campaign_id == campaign.id, _LIVE_REWARDS)
        .scalar_subquery()
        if campaign.budget is not None
        else None
    )
    counts = [
        _rewarded_referrals(
            Referral.campaign_id == campaign.id, Referral.advocate_id == touch.advocate_id
        ),
        _rewarded_referrals(
            Referral.advocate_id == touch.advocate_id,
            Referral.created_at >= now - timedelta(days=1),
        ),
        _rewarded_referrals(Referral.campaign_id == campaign.id, Referral.invitee_id == invitee_id),
    ]
    row = session.execute(select(*counts, *([spent] if spent is not None else []))).one()
    return fraud.Limits(
        reward_total=reward_total,
        budget_remaining=(campaign.budget - int(row[3])) if campaign.budget is not None else None,
        per_advocate_cap=campaign.per_advocate_cap,
        advocate_rewarded_referrals=int(row[0]),
        advocate_referrals_last_day=int(row[1]),
        velocity_limit=velocity_limit,
        invitee_already_rewarded=int(row[2]) > 0,
    )
