"""Campaign rules on plain values: status transitions, consistency, and being live.

No Flask or SQLAlchemy here: the service and the click path call these with a
``Campaign`` row or a dict of API-shaped values, and unit tests with plain data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

# draft -> active <-> paused -> ended, and draft -> ended (abandoned before launch).
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"active", "ended"}),
    "active": frozenset({"paused", "ended"}),
    "paused": frozenset({"active", "ended"}),
    "ended": frozenset(),
}
# What defines the offer people were promised: final once the campaign has ended.
FROZEN_WHEN_ENDED = ("inviter_reward", "invitee_reward", "one_sided", "trigger")
REWARD_SIDES = ("inviter_reward", "invitee_reward")


class Schedulable(Protocol):
    status: str
    starts_at: datetime | None
    ends_at: datetime | None


class Offer(Protocol):
    """Both rewards of an offer: a campaign's, or an experiment variant's instead of it."""

    inviter_reward_kind: str | None
    inviter_reward_amount: int | None
    inviter_reward_currency: str | None
    invitee_reward_kind: str | None
    invitee_reward_amount: int | None
    invitee_reward_currency: str | None


def reward_terms(offer: Offer, side: str) -> dict[str, Any] | None:
    """One side's reward in the API's shape (kind, amount, currency), or None without one."""
    kind = getattr(offer, f"{side}_reward_kind")
    if kind is None:
        return None
    return {
        "kind": kind,
        "amount": getattr(offer, f"{side}_reward_amount"),
        "currency": getattr(offer, f"{side}_reward_currency"),
    }


def transition_problem(current: str, target: str) -> str | None:
    """Why ``current -> target`` is not allowed, or None if it is (staying put is allowed)."""
    if target == current or target in TRANSITIONS.get(current, frozenset()):
        return None
    if current == "ended":
        return "An ended campaign is final; create a new campaign instead."
    if target == "draft":
        return "A campaign that has been launched cannot go back to draft."
    if current == "draft" and target == "paused":
        return "Only an active campaign can be paused; activate it first."
    return f"A campaign cannot go from {current} to {target}."


def campaign_is_live(campaign: Schedulable, now: datetime) -> bool:
    """Active, and ``now`` within [starts_at, ends_at): links work and rewards are earned."""
    if campaign.status != "active":
        return False
    if campaign.starts_at is not None and now < campaign.starts_at:
        return False
    return campaign.ends_at is None or now < campaign.ends_at


def campaign_problems(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Field messages for a campaign whose values contradict each other (API-shaped dict)."""
    problems: dict[str, list[str]] = {}
    sides = [side for side in REWARD_SIDES if values.get(side) is not None]
    if not sides:
        for side in REWARD_SIDES:
            problems[side] = ["A campaign rewards at least one side."]
    elif len(sides) == 1 and not values.get("one_sided"):
        (missing,) = set(REWARD_SIDES) - set(sides)
        problems[missing] = [
            "Missing: a campaign rewarding one side only must say so with one_sided: true."
        ]
    elif len(sides) == 2 and values.get("one_sided"):
        problems["one_sided"] = ["Both sides are rewarded, so the campaign is not one-sided."]
    disclosure = values.get("disclosure")
    if values.get("inviter_reward") is not None and not (disclosure or "").strip():
        problems["disclosure"] = [
            "Required when the inviter is rewarded: the incentive must be disclosed."
        ]
    starts_at, ends_at = values.get("starts_at"), values.get("ends_at")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        problems["ends_at"] = ["Must be after starts_at."]
    return problems
