"""Reward rules on plain values: the reward and referral state machines, the return
window, the refund rule. Every module names these states from here.

No Flask or SQLAlchemy here.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

PENDING, HELD, APPROVED, ISSUED, REJECTED, REVERSED = (
    "pending",
    "held",
    "approved",
    "issued",
    "rejected",
    "reversed",
)
STATES = (PENDING, HELD, APPROVED, ISSUED, REJECTED, REVERSED)
# pending -> held (review) -> approved -> issued, or rejected; approved/issued -> reversed.
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({HELD, APPROVED, REJECTED}),
    HELD: frozenset({APPROVED, REJECTED}),
    APPROVED: frozenset({ISSUED, REVERSED}),
    ISSUED: frozenset({REVERSED}),
    REJECTED: frozenset(),
    REVERSED: frozenset(),
}
FINAL = frozenset({REJECTED, REVERSED})
# States that hold a claim on the campaign's budget and the advocate's cap.
LIVE = (PENDING, HELD, APPROVED, ISSUED)
# States whose amount is booked in the ledger.
BOOKED = (APPROVED, ISSUED)


# What became of an attributed conversion: a referral's state, distinct from its rewards'.
REFERRAL_SIGNED_UP, REFERRAL_CONVERTED, REFERRAL_REWARDED, REFERRAL_REJECTED = (
    "signed_up",
    "converted",
    "rewarded",
    "rejected",
)
REFERRAL_STATES = (REFERRAL_SIGNED_UP, REFERRAL_CONVERTED, REFERRAL_REWARDED, REFERRAL_REJECTED)


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def undo_state(current: str) -> str | None:
    """What a refund turns a reward into: not yet booked -> rejected, booked -> reversed;
    None when it is already final."""
    if current in (PENDING, HELD):
        return REJECTED
    if current in BOOKED:
        return REVERSED
    return None


def referral_state(reward_states: Collection[str]) -> tuple[str, str | None] | None:
    """A referral's state and reason from its rewards' states (None without rewards):
    rewarded once any reward is booked, rejected once every reward is final."""
    states = set(reward_states)
    if not states:
        return None
    if states & set(BOOKED):
        return REFERRAL_REWARDED, None
    if states <= FINAL:
        return REFERRAL_REJECTED, "rewards rejected or reversed"
    return REFERRAL_CONVERTED, None


def approve_after(occurred_at: datetime, hold_days: int) -> datetime:
    """The end of the return window: pending rewards are approved from then on."""
    return occurred_at + timedelta(days=hold_days)


def refund_reverses(*, order_amount: int, refunded_amount: int, min_order_amount: int) -> bool:
    """Whether a refund undoes the order's rewards.

    A full refund always does. A partial one does when what is left of the order is below
    the campaign's ``min_order_amount`` (it would not have earned rewards), so with no
    minimum only a full refund reverses.
    """
    remaining = order_amount - refunded_amount
    return remaining <= 0 or remaining < min_order_amount


def unit(currency: str | None) -> str:
    """A ledger unit: the ISO currency, or ``points`` for a points reward."""
    return currency or "points"
