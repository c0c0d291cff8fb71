"""Fraud and eligibility checks run before any reward is approved: pure rules on plain facts.

Each failed check is a ``Finding``: a reason code and what it does to the rewards,
``reject`` or ``hold`` (for review). Any rejection rejects both rewards of the
conversion; otherwise any hold holds both; otherwise they are pending.

| reason | action |
| --- | --- |
| self_referral_customer: the invitee is the advocate | reject |
| self_referral_email: same normalised email (case, +tag, dots where ignored) | reject |
| self_referral_visitor: the invitee's visitor id is one the advocate used | reject |
| self_referral_device: same IP hash and same user agent as the advocate's | hold |
| existing_customer: the invitee had a purchase before the click | reject |
| not_first_purchase: first purchase only, and the invitee bought before | reject |
| below_min_order: order amount below the campaign's min_order_amount | reject |
| disposable_email: the invitee's email domain is a disposable one | reject |
| campaign_not_active: the campaign was not live when the conversion happened | reject |
| invitee_already_rewarded: this invitee already earned this campaign's rewards | reject |
| advocate_cap_reached: the advocate's per_advocate_cap of rewarded referrals is used | reject |
| budget_exhausted: these rewards would take the campaign past its budget | reject |
| velocity: the advocate already has N rewarded referrals in the last 24 hours | hold |

No Flask or SQLAlchemy here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from disposable_email_domains import blocklist as _DISPOSABLE_DOMAINS

from advocacy.rewards.rules import HELD, PENDING, REJECTED

REJECT, HOLD = "reject", "hold"


@dataclass(frozen=True)
class Finding:
    reason: str
    action: str


@dataclass(frozen=True)
class Identity:
    """Who the advocate and the invitee are, as far as we can tell."""

    advocate_id: int
    invitee_id: int
    advocate_emails: frozenset[str] = frozenset()  # normalised
    invitee_emails: frozenset[str] = frozenset()  # normalised
    advocate_visitor_ids: frozenset[str] = frozenset()
    invitee_visitor_id: str | None = None
    advocate_devices: frozenset[tuple[str, str]] = frozenset()  # (IP hash, user agent)
    invitee_device: tuple[str, str] | None = None


@dataclass(frozen=True)
class Order:
    """The conversion and the campaign's trigger."""

    event: str
    amount: int | None
    min_order_amount: int
    first_purchase_only: bool
    campaign_live: bool
    purchased_before_touch: bool  # the invitee was already a customer before the click
    purchased_before: bool  # any earlier purchase of the invitee
    invitee_email_domains: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Limits:
    """Counts taken under lock, just before the rewards are booked."""

    reward_total: int  # both rewards of this conversion, minor units or points
    budget_remaining: int | None  # None: no budget
    per_advocate_cap: int | None
    advocate_rewarded_referrals: int  # in this campaign
    advocate_referrals_last_day: int  # rewarded referrals in the last 24 hours, any campaign
    velocity_limit: int
    invitee_already_rewarded: bool


def is_disposable(domain: str, blocklist: Collection[str] = _DISPOSABLE_DOMAINS) -> bool:
    """Whether the domain, or a domain it is under, is on the disposable list."""
    labels = domain.strip().lower().rstrip(".").split(".")
    return any(".".join(labels[i:]) in blocklist for i in range(len(labels) - 1))


def email_domains(emails: Iterable[str]) -> frozenset[str]:
    return frozenset(e.rpartition("@")[2] for e in emails if "@" in e)


def _found(rules: Iterable[tuple[object, str, str]]) -> list[Finding]:
    """The findings of the rules (condition, reason, action) whose condition holds, in order."""
    return [Finding(reason, action) for holds, reason, action in rules if holds]


def check_identity(identity: Identity) -> list[Finding]:
    invitee_visitor, invitee_device = identity.invitee_visitor_id, identity.invitee_device
    return _found(
        [
            (identity.advocate_id == identity.invitee_id, "self_referral_customer", REJECT),
            (identity.advocate_emails & identity.invitee_emails, "self_referral_email", REJECT),
            (
                invitee_visitor and invitee_visitor in identity.advocate_visitor_ids,
                "self_referral_visitor",
                REJECT,
            ),
            # Weaker than the others: a household or an office shares an address and a
            # browser build, so a person decides.
            (
                invitee_device and invitee_device in identity.advocate_devices,
                "self_referral_device",
                HOLD,
            ),
        ]
    )


def check_order(order: Order) -> list[Finding]:
    purchase = order.event == "purchase"
    return _found(
        [
            (order.purchased_before_touch, "existing_customer", REJECT),
            (
                purchase and order.first_purchase_only and order.purchased_before,
                "not_first_purchase",
                REJECT,
            ),
            (purchase and (order.amount or 0) < order.min_order_amount, "below_min_order", REJECT),
            (
                any(is_disposable(domain) for domain in order.invitee_email_domains),
                "disposable_email",
                REJECT,
            ),
            (not order.campaign_live, "campaign_not_active", REJECT),
        ]
    )


def check_limits(limits: Limits) -> list[Finding]:
    cap, budget = limits.per_advocate_cap, limits.budget_remaining
    return _found(
        [
            (limits.invitee_already_rewarded, "invitee_already_rewarded", REJECT),
            (
                cap is not None and limits.advocate_rewarded_referrals >= cap,
                "advocate_cap_reached",
                REJECT,
            ),
            (budget is not None and limits.reward_total > budget, "budget_exhausted", REJECT),
            (limits.advocate_referrals_last_day >= limits.velocity_limit, "velocity", HOLD),
        ]
    )


def verdict(findings: Iterable[Finding]) -> tuple[str, list[str]]:
    """The state both rewards start in, and the reasons, rejections first."""
    findings = list(findings)
    rejections = [f.reason for f in findings if f.action == REJECT]
    holds = [f.reason for f in findings if f.action == HOLD]
    if rejections:
        return REJECTED, rejections + holds
    if holds:
        return HELD, holds
    return PENDING, []
