"""The reward lifecycle: approve, reject, issue, reverse and settle rewards, and read them.

A move follows the state machine of ``rules`` and brings its ledger movement (approval
books an award, reversal its reversing transaction), a history step and a domain event;
the referral's state follows its rewards'. Functions take the session first and the rest
by keyword, flush and never commit. What they return is read by the API's response
schemas (``advocacy.api.conversions``, ``advocacy.api.rewards``), which shape the bodies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, literal, select, update

from advocacy.customers.models import Customer
from advocacy.errors import Conflict, found
from advocacy.pagination import page_by_id
from advocacy.rewards import bookkeeping, rules
from advocacy.rewards.models import Conversion, Referral, Reward, RewardEvent
from advocacy.statements import run
from advocacy.types import DbSession
from advocacy.webhooks.service import DomainEvent, emit_events

MAX_ID = 2**63 - 1
ACTIONS = {"approve": rules.APPROVED, "reject": rules.REJECTED, "issue": rules.ISSUED}


@dataclass(frozen=True)
class RewardView:
    """A reward as the API shows it: the row (a ``Reward`` or a row with its columns) and
    the beneficiary's external id; listed rewards also carry their conversion's event id
    and their history (``RewardEvent`` rows)."""

    reward: Any
    customer: str
    event_id: str | None = None
    history: Sequence[Any] | None = None


@dataclass(frozen=True)
class Amount:
    unit: str  # ISO currency, or points
    amount: int


@dataclass(frozen=True)
class CustomerRewards:
    customer: str
    balance: list[Amount]
    pending: list[Amount]
    items: list[RewardView]
    next_cursor: str | None


# --- what every move writes ------------------------------------------------------------


# Nulls rendered: every row has the same columns, so one INSERT, not one per set of
# non-null keys.
_INSERT_HISTORY = insert(RewardEvent.__table__).execution_options(render_nulls=True)


def write_history(
    session: DbSession,
    *,
    steps: Sequence[tuple[Any, str | None, str, str | None]],
    api_key_id: int | None,
    now: datetime,
    staff_user_id: int | None = None,
) -> None:
    """One history row per (reward, from state, to state, reason), in one INSERT."""
    if steps:
        run(
            session,
            _INSERT_HISTORY,
            [
                {
                    "workspace_id": reward.workspace_id,
                    "reward_id": reward.id,
                    "from_state": before,
                    "to_state": after,
                    "reason": reason,
                    "api_key_id": api_key_id,
                    "staff_user_id": staff_user_id,
                    "at": now,
                }
                for reward, before, after, reason in steps
            ],
        )


def reward_event(reward: Any, type_: str, customer: str | None = None) -> DomainEvent:
    """The domain event (webhook payload) of a reward's move."""
    data = {
        "reward_id": reward.id,
        "campaign_id": reward.campaign_id,
        "role": reward.role,
        "kind": reward.kind,
        "amount": reward.amount,
        "currency": reward.currency,
        "state": reward.state,
        "reasons": list(reward.reasons or []),
    }
    if customer is not None:
        data["customer"] = customer
    if reward.code is not None and type_ == "reward.issued":
        data["code"] = reward.code
    return DomainEvent(reward.workspace_id, type_, data)


# --- moving rewards --------------------------------------------------------------------


def approve_rewards(
    session: DbSession,
    *,
    rewards: Sequence[Reward],
    reason: str | None,
    api_key_id: int | None,
    now: datetime,
    staff_user_id: int | None = None,
) -> list[DomainEvent]:
    """Approve and book rewards (already checked to be pending or held)."""
    steps = []
    for reward in rewards:
        steps.append((reward, reward.state, rules.APPROVED, reason))
        reward.state = rules.APPROVED
        reward.updated_at = now
    session.flush()
    bookkeeping.post_awards(session, rewards, now=now)
    write_history(session, steps=steps, api_key_id=api_key_id, staff_user_id=staff_user_id, now=now)
    return [reward_event(r, "reward.approved") for r in rewards]


def sync_referral(session: DbSession, *, referral_id: int, now: datetime) -> None:
    """Bring the referral's state in line with its rewards' (``rules.referral_state``)."""
    found = rules.referral_state(
        session.scalars(select(Reward.state).where(Reward.referral_id == referral_id)).all()
    )
    if found is None:
        return
    value, reason = found
    session.execute(
        update(Referral)
        .where(Referral.id == referral_id, Referral.state != value)
        .values(state=value, reason=reason, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )


def get_reward(
    session: DbSession, *, workspace_id: int, reward_id: int, lock: bool = False
) -> Reward:
    reward = None
    if 0 < reward_id <= MAX_ID:
        query = select(Reward).where(Reward.id == reward_id, Reward.workspace_id == workspace_id)
        if lock:
            query = query.with_for_update()
        reward = session.scalar(query)
    return found(reward, f"No reward {reward_id} in this workspace.")


def change_reward(
    session: DbSession,
    *,
    reward: Reward,
    target: str,
    reason: str | None,
    api_key_id: int | None,
    now: datetime,
    code: str | None = None,
    staff_user_id: int | None = None,
) -> list[DomainEvent]:
    """Move a (locked) reward to ``target``, with its ledger movement and history.

    Returns the events to emit. Raises Conflict for a move the state machine forbids.
    """
    if not rules.can_transition(reward.state, target):
        raise Conflict(f"Reward {reward.id} is {reward.state}; it cannot become {target}.")
    if target == rules.APPROVED:
        events = approve_rewards(
            session,
            rewards=[reward],
            reason=reason,
            api_key_id=api_key_id,
            staff_user_id=staff_user_id,
            now=now,
        )
    else:
        before = reward.state
        reward.state = target
        reward.updated_at = now
        if target == rules.REJECTED and reason:
            reward.reasons = [*(reward.reasons or []), reason]
        if target == rules.ISSUED:
            reward.code = code
        session.flush()
        if target == rules.REVERSED:
            bookkeeping.post_reversal(session, reward, now=now)
        write_history(
            session,
            steps=[(reward, before, target, reason)],
            api_key_id=api_key_id,
            staff_user_id=staff_user_id,
            now=now,
        )
        events = [reward_event(reward, f"reward.{target}")]
    sync_referral(session, referral_id=reward.referral_id, now=now)
    return events


def review_reward(
    session: DbSession,
    *,
    workspace_id: int,
    reward_id: int,
    action: str,
    reason: str | None,
    api_key_id: int | None,
    now: datetime,
    code: str | None = None,
    staff_user_id: int | None = None,
) -> RewardView:
    """approve (pending or held), reject (pending or held) or issue (approved) a reward.

    Repeating the action on a reward already in its target state changes nothing.
    """
    target = ACTIONS[action]
    reward = get_reward(session, workspace_id=workspace_id, reward_id=reward_id, lock=True)
    if reward.state != target:
        events = change_reward(
            session,
            reward=reward,
            target=target,
            reason=reason,
            api_key_id=api_key_id,
            staff_user_id=staff_user_id,
            now=now,
            code=code,
        )
        emit_events(session, events=events, now=now)
        session.flush()
    return describe_rewards(session, rewards=[reward])[0]


def settle_rewards(session: DbSession, *, now: datetime, limit: int = 200) -> int:
    """Approve pending rewards whose return window has passed; returns how many.

    On PostgreSQL several settlers can run at once: each skips rows another has locked.
    """
    query = (
        select(Reward)
        # The state as a literal: the partial index ix_rewards_due (pending rewards) is
        # usable only where the planner sees the constant (SQLite never looks into a
        # bound parameter).
        .where(Reward.state == literal(rules.PENDING, literal_execute=True))
        .where(Reward.approve_after <= now)
        .order_by(Reward.approve_after, Reward.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rewards = list(session.scalars(query))
    if not rewards:
        return 0
    events: list[DomainEvent] = []
    by_workspace: dict[int, list[Reward]] = {}
    for reward in rewards:
        by_workspace.setdefault(reward.workspace_id, []).append(reward)
    for batch in by_workspace.values():
        events += approve_rewards(
            session, rewards=batch, reason="return window elapsed", api_key_id=None, now=now
        )
    for referral_id in {r.referral_id for r in rewards}:
        sync_referral(session, referral_id=referral_id, now=now)
    emit_events(session, events=events, now=now)
    session.flush()
    return len(rewards)


# --- reading ---------------------------------------------------------------------------


def external_ids(session: DbSession, ids: set[int]) -> dict[int, str]:
    """Customer id -> external id."""
    if not ids:
        return {}
    return dict(
        session.execute(select(Customer.id, Customer.external_id).where(Customer.id.in_(ids)))
        .tuples()
        .all()
    )


def describe_rewards(session: DbSession, *, rewards: Sequence[Reward]) -> list[RewardView]:
    """Rewards with their beneficiary, conversion and history."""
    if not rewards:
        return []
    ids = [r.id for r in rewards]
    history: dict[int, list[RewardEvent]] = {i: [] for i in ids}
    for event in session.scalars(
        select(RewardEvent).where(RewardEvent.reward_id.in_(ids)).order_by(RewardEvent.id)
    ):
        history[event.reward_id].append(event)
    names = external_ids(session, {r.beneficiary_id for r in rewards})
    events = dict(
        session.execute(
            select(Conversion.id, Conversion.event_id).where(
                Conversion.id.in_({r.conversion_id for r in rewards})
            )
        )
        .tuples()
        .all()
    )
    return [
        RewardView(
            reward,
            names.get(reward.beneficiary_id, ""),
            events.get(reward.conversion_id),
            history[reward.id],
        )
        for reward in rewards
    ]


def list_rewards(
    session: DbSession,
    *,
    workspace_id: int,
    state: str | None,
    campaign_id: int | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[RewardView], str | None]:
    """Rewards by id (oldest first), e.g. the review queue (``state=held``), with a cursor."""
    query = select(Reward).where(Reward.workspace_id == workspace_id)
    if state is not None:
        query = query.where(Reward.state == state)
    if campaign_id is not None:
        query = query.where(Reward.campaign_id == campaign_id)
    rows, next_cursor = page_by_id(session, query, Reward.id, limit=limit, cursor=cursor)
    return describe_rewards(session, rewards=rows), next_cursor


def customer_rewards(
    session: DbSession, *, workspace_id: int, external_id: str, limit: int, cursor: str | None
) -> CustomerRewards:
    """A customer's balance (ledger sums), pending amounts, and rewards newest first."""
    from advocacy.customers.service import get_customer

    customer = get_customer(session, workspace_id=workspace_id, external_id=external_id)
    query = select(Reward).where(
        Reward.workspace_id == workspace_id, Reward.beneficiary_id == customer.id
    )
    rows, next_cursor = page_by_id(
        session, query, Reward.id, limit=limit, cursor=cursor, descending=True
    )
    pending = session.execute(
        select(Reward.currency, func.sum(Reward.amount))
        .where(
            Reward.workspace_id == workspace_id,
            Reward.beneficiary_id == customer.id,
            Reward.state.in_((rules.PENDING, rules.HELD)),
        )
        .group_by(Reward.currency)
    ).all()
    balances = bookkeeping.customer_balances(session, workspace_id, customer.id)
    return CustomerRewards(
        customer=customer.external_id,
        balance=[Amount(unit, amount) for unit, amount in balances.items()],
        pending=sorted(
            (Amount(rules.unit(currency), int(total)) for currency, total in pending),
            key=lambda item: item.unit,
        ),
        items=describe_rewards(session, rewards=rows),
        next_cursor=next_cursor,
    )
