"""Booking what a conversion earned: its referral, both rewards, their history, the
ledger transactions of rewards approved as they are written, and the outbox events that
announce them, all in the conversion's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert

from advocacy.rewards import bookkeeping, rules
from advocacy.rewards.attribution import Touch
from advocacy.rewards.booking_postgresql import APPROVED_AS_WRITTEN, Booked, book_in_one_statement
from advocacy.rewards.lifecycle import reward_event, write_history
from advocacy.rewards.models import Referral, Reward
from advocacy.rewards.verdicts import Verdict
from advocacy.statements import run
from advocacy.types import DbSession
from advocacy.webhooks.service import DomainEvent, emit_events

_REFERRALS, _REWARDS = Referral.__table__, Reward.__table__
# Core INSERTs returning the rows, not the ORM's unit of work: nothing here is read back
# or changed before commit. Nulls rendered: every row has the same columns, one statement.
_INSERT_REFERRAL = insert(_REFERRALS).returning(*_REFERRALS.c)
_INSERT_REWARDS = (
    insert(_REWARDS)
    .execution_options(render_nulls=True)
    .returning(*_REWARDS.c, sort_by_parameter_order=True)
)


def _referral_state(verdict: Verdict, event: str, trigger: str) -> tuple[str, str | None]:
    if verdict.state == rules.REJECTED:
        return rules.REFERRAL_REJECTED, ",".join(verdict.reasons)
    if not verdict.triggered:
        # Attributed, but not what this campaign rewards (a sign-up in a purchase campaign).
        state = rules.REFERRAL_SIGNED_UP if event == "signup" else rules.REFERRAL_CONVERTED
        return state, f"trigger_is_{trigger}"
    if verdict.approve_now:
        return rules.REFERRAL_REWARDED, None
    return rules.REFERRAL_CONVERTED, None


def book_rewards(
    session: DbSession,
    *,
    campaign: Any,
    conversion: Any,
    touch: Touch,
    verdict: Verdict,
    names: dict[int, str],
    now: datetime,
    ids: tuple[int, ...] = (),
) -> Booked:
    """Write the referral and its rewards, their history, (approved now) the ledger, and
    the outbox events that announce them; ``names``: customer id -> external id. Given
    ``ids`` (drawn from PostgreSQL's sequences: the referral's, then the rewards'), all of
    it is one statement."""
    state, reason = _referral_state(verdict, conversion.event, campaign.trigger_event)
    referral = {
        "workspace_id": conversion.workspace_id,
        "campaign_id": campaign.id,
        "conversion_id": conversion.id,
        "link_id": touch.link_id,
        "click_id": touch.click_id,
        "advocate_id": touch.advocate_id,
        "invitee_id": conversion.customer_id,
        "evidence": touch.evidence,
        # In UTC, as the database gives them back: the rows answer the request as written.
        "touched_at": touch.touched_at.astimezone(UTC),
        "state": state,
        "reason": reason,
        "created_at": now,
        "updated_at": now,
    }
    rewarded = bool(verdict.sides) and verdict.state is not None
    rewards = [
        {
            "workspace_id": conversion.workspace_id,
            "campaign_id": campaign.id,
            "conversion_id": conversion.id,
            "state": rules.APPROVED if verdict.approve_now else verdict.state,
            "reasons": list(verdict.reasons),
            "approve_after": verdict.approve_after.astimezone(UTC),
            "code": None,
            "created_at": now,
            "updated_at": now,
            **side,
        }
        for side in (verdict.sides if rewarded else [])
    ]
    if ids:
        booked = Booked(
            SimpleNamespace(**referral, id=ids[0]),
            [
                SimpleNamespace(**reward, id=reward_id, referral_id=ids[0])
                for reward, reward_id in zip(rewards, ids[1:], strict=False)
            ],
        )
        events = announcements(conversion, booked, names)
        book_in_one_statement(session, booked, verdict, events, now)
        return booked
    booked = _book_row_by_row(session, referral, rewards, verdict, now)
    emit_events(session, events=announcements(conversion, booked, names), now=now)
    session.flush()
    return booked


def _book_row_by_row(
    session: DbSession,
    referral: dict[str, Any],
    rewards: list[dict[str, Any]],
    verdict: Verdict,
    now: datetime,
) -> Booked:
    row = run(session, _INSERT_REFERRAL, referral).one()
    if not rewards or verdict.state is None:
        return Booked(row, [])
    written = run(session, _INSERT_REWARDS, [{**r, "referral_id": row.id} for r in rewards]).all()
    steps: list[tuple[Any, str | None, str, str | None]] = [
        (r, None, verdict.state, ",".join(verdict.reasons) or None) for r in written
    ]
    if verdict.approve_now:
        steps += [(r, verdict.state, rules.APPROVED, APPROVED_AS_WRITTEN) for r in written]
        bookkeeping.post_awards(session, written, now=now)
    write_history(session, steps=steps, api_key_id=None, now=now)
    return Booked(row, list(written))


def announcements(conversion: Any, booked: Booked, names: dict[int, str]) -> list[DomainEvent]:
    """The outbox events: the referral attributed, its rewards created (and approved)."""
    referral = booked.referral
    events = [
        DomainEvent(
            conversion.workspace_id,
            "referral.attributed",
            {
                "referral_id": referral.id,
                "campaign_id": referral.campaign_id,
                "event_id": conversion.event_id,
                "event": conversion.event,
                "advocate": names[referral.advocate_id],
                "invitee": names[referral.invitee_id],
                "evidence": referral.evidence,
                "state": referral.state,
            },
        )
    ]
    created = [reward_event(r, "reward.created", names[r.beneficiary_id]) for r in booked.rewards]
    approved = [
        reward_event(r, "reward.approved", names[r.beneficiary_id])
        for r in booked.rewards
        if r.state == rules.APPROVED
    ]
    return [*events, *created, *approved]
