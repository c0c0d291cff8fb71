"""What the Review page shows beside each held reward, and the decisions taken: read-only
queries, one per table for the whole page (never one per reward)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select

from advocacy.campaigns.models import Campaign
from advocacy.customers.models import Customer
from advocacy.rewards.models import Conversion, Referral, Reward, RewardEvent
from advocacy.types import DbSession

DECIDED = ("approved", "rejected", "issued")
# The fraud checks' reason codes (advocacy/rewards/fraud.py) in words, for a reviewer.
REASONS = {
    "velocity": "Velocity: the advocate already had many rewarded referrals in the last 24 hours.",
    "self_referral_device": (
        "Same device: the friend used the same IP address and browser as the advocate "
        "(a household or office, or one person twice)."
    ),
    "self_referral_customer": "Self-referral: the friend is the advocate.",
    "self_referral_email": "Self-referral: the same email address.",
    "self_referral_visitor": "Self-referral: the same browser visitor id as the advocate.",
    "existing_customer": "The friend had bought before clicking the link.",
    "not_first_purchase": "Not the friend's first purchase.",
    "below_min_order": "The order is below the campaign's minimum.",
    "disposable_email": "The friend's email is on a disposable domain.",
    "campaign_not_active": "The campaign was not live at the time.",
    "invitee_already_rewarded": "This friend already earned this campaign's rewards.",
    "advocate_cap_reached": "The advocate's cap of rewarded referrals is used up.",
    "budget_exhausted": "The campaign's budget would be exceeded.",
}


def explain_reason(reason: str) -> str:
    return REASONS.get(reason, reason)


def review_evidence(
    session: DbSession, *, workspace_id: int, rewards: Sequence[dict[str, Any]]
) -> dict[int, dict[str, Any]]:
    """Per reward id: its campaign, conversion, advocate and friend, and how the referral was
    attributed (ref, cookie, click, ...)."""
    ids = [r["id"] for r in rewards]
    if not ids:
        return {}
    rows = session.execute(
        select(
            Reward.id,
            Campaign.id,
            Campaign.name,
            Conversion.event,
            Conversion.amount,
            Conversion.currency,
            Conversion.occurred_at,
            Referral.advocate_id,
            Referral.invitee_id,
            Referral.evidence,
            Referral.touched_at,
        )
        .join(Campaign, Campaign.id == Reward.campaign_id)
        .join(Conversion, Conversion.id == Reward.conversion_id)
        .outerjoin(
            Referral,
            and_(
                Referral.conversion_id == Reward.conversion_id,
                Referral.campaign_id == Reward.campaign_id,
            ),
        )
        .where(Reward.workspace_id == workspace_id, Reward.id.in_(ids))
    ).all()
    people = {row[7] for row in rows} | {row[8] for row in rows}
    people.discard(None)
    names = dict(
        session.execute(select(Customer.id, Customer.external_id).where(Customer.id.in_(people)))
        .tuples()
        .all()
    )
    return {
        row[0]: {
            "campaign_id": row[1],
            "campaign": row[2],
            "event": row[3],
            "amount": row[4],
            "currency": row[5],
            "occurred_at": row[6],
            "advocate": names.get(row[7]),
            "invitee": names.get(row[8]),
            "attributed_by": row[9],
            "touched_at": row[10],
        }
        for row in rows
    }


def list_decisions(session: DbSession, *, workspace_id: int, limit: int) -> list[dict[str, Any]]:
    """The latest decisions people took on rewards (approve, reject, issue), newest first."""
    rows = session.execute(
        select(RewardEvent, Reward, Customer.external_id)
        .join(Reward, Reward.id == RewardEvent.reward_id)
        .join(Customer, Customer.id == Reward.beneficiary_id)
        .where(
            RewardEvent.workspace_id == workspace_id,
            RewardEvent.to_state.in_(DECIDED),
            or_(RewardEvent.staff_user_id.is_not(None), RewardEvent.api_key_id.is_not(None)),
        )
        .order_by(RewardEvent.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "at": event.at,
            "reward_id": reward.id,
            "customer": customer,
            "role": reward.role,
            "amount": reward.amount,
            "currency": reward.currency,
            "kind": reward.kind,
            "from_state": event.from_state,
            "to_state": event.to_state,
            "reason": event.reason,
            "staff_user_id": event.staff_user_id,
            "api_key_id": event.api_key_id,
        }
        for event, reward, customer in rows
    ]
