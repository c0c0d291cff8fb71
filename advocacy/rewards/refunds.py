"""Refunds: record them against a purchase and undo its rewards, exactly once.

The conversion row is locked (``FOR UPDATE`` on PostgreSQL) while a refund is recorded,
so concurrent refunds of one order queue up: the first that meets the rule undoes the
rewards; the others find them final already. Rule (``rules.refund_reverses``): a full
refund always undoes them; a partial one does when what is left of the order is below
the campaign's ``min_order_amount``. Undoing means: pending or held -> rejected; approved
or issued -> reversed, with a reversing ledger transaction (one per award, by a unique
constraint). Functions flush; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from advocacy.campaigns.models import Campaign
from advocacy.errors import Unprocessable
from advocacy.rewards import rules
from advocacy.rewards.conversions import ConversionView, describe_conversion, get_conversion
from advocacy.rewards.lifecycle import change_reward
from advocacy.rewards.models import Refund, Reward
from advocacy.types import DbSession
from advocacy.webhooks.service import DomainEvent, emit_events

REFUND_REASON = "refund"


@dataclass(frozen=True)
class Refunded(ConversionView):
    """The conversion after the refund, and what this request recorded (None: a repeat)."""

    refund: Refund | None = None
    created: bool = False  # False when nothing new was recorded (a repeat, or nothing left)


def refund_conversion(
    session: DbSession,
    *,
    workspace_id: int,
    event_id: str,
    amount: int | None,
    refund_id: str | None,
    reason: str | None,
    now: datetime,
) -> Refunded:
    """Refund ``amount`` of a purchase (all that is left when None)."""
    conversion = get_conversion(session, workspace_id=workspace_id, event_id=event_id, lock=True)
    if conversion.event != "purchase" or conversion.amount is None:
        raise Unprocessable(
            "Only a purchase can be refunded.", errors={"event_id": ["Is not a purchase."]}
        )
    if refund_id is not None:
        known = session.scalar(
            select(Refund).where(
                Refund.conversion_id == conversion.id, Refund.refund_id == refund_id
            )
        )
        if known is not None:
            if amount is not None and known.amount != amount:
                raise Unprocessable(
                    f"Refund {refund_id!r} was recorded with another amount.",
                    errors={"amount": [f"Refund {refund_id!r} was {known.amount}."]},
                )
            return _answer(session, conversion, None, created=False)
    remaining = conversion.amount - conversion.refunded_amount
    if remaining <= 0:
        # Fully refunded already: repeating a full refund is harmless.
        if amount is None:
            return _answer(session, conversion, None, created=False)
        raise Unprocessable(
            "The order is fully refunded already.", errors={"amount": ["Nothing is left."]}
        )
    value = remaining if amount is None else amount
    if value > remaining:
        raise Unprocessable(
            f"Only {remaining} of the order is left to refund.",
            errors={"amount": [f"At most {remaining}."]},
        )
    refund = Refund(
        workspace_id=workspace_id,
        conversion_id=conversion.id,
        refund_id=refund_id,
        amount=value,
        reason=reason,
        created_at=now,
    )
    session.add(refund)
    conversion.refunded_amount += value
    session.flush()
    _undo_rewards(session, conversion, now)
    return _answer(session, conversion, refund, created=True)


def _undo_rewards(session: DbSession, conversion: Any, now: datetime) -> None:
    rewards = list(
        session.scalars(
            select(Reward)
            .where(Reward.conversion_id == conversion.id)
            .order_by(Reward.id)
            .with_for_update()
        )
    )
    if not rewards:
        return
    min_order = session.scalar(
        select(Campaign.min_order_amount).where(Campaign.id == rewards[0].campaign_id)
    )
    if not rules.refund_reverses(
        order_amount=conversion.amount,
        refunded_amount=conversion.refunded_amount,
        min_order_amount=min_order or 0,
    ):
        return
    events: list[DomainEvent] = []
    for reward in rewards:
        target = rules.undo_state(reward.state)
        if target is not None:
            events += change_reward(
                session,
                reward=reward,
                target=target,
                reason=REFUND_REASON,
                api_key_id=None,
                now=now,
            )
    emit_events(session, events=events, now=now)
    session.flush()


def _answer(
    session: DbSession, conversion: Any, refund: Refund | None, *, created: bool
) -> Refunded:
    view = describe_conversion(session, conversion=conversion)
    return Refunded(
        view.conversion, view.customer, view.referral, view.rewards, refund=refund, created=created
    )
