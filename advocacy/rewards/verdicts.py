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
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, bindparam, func, literal_column, select

from advocacy.campaigns.models import Campaign
from advocacy.campaigns.rules import Offer, campaign_is_live
from advocacy.customers.models import Customer, EngagementEvent
from advocacy.experiments.assignment import conversion_offer
from advocacy.experiments.models import Experiment
from advocacy.rewards import fraud, rules
from advocacy.rewards.attribution import Touch
from advocacy.rewards.models import Conversion, Referral, Reward
from advocacy.statements import run
from advocacy.types import DbSession
from advocacy.upserts import dialect_name


@dataclass(frozen=True)
class Invitee:
    id: int
    external_id: str
    email: str | None  # normalised, as reported
    emails: frozenset[str]  # normalised: as reported, and as the CRM stored it
    new: bool  # created by this report: no purchases, referrals or rewards before it


@dataclass(frozen=True)
class Context:
    """What deciding and booking need beyond the touch, read in one query."""

    campaign: Any  # a row with the campaign's columns (an ``Offer`` and ``Schedulable``)
    advocate: str  # the advocate's external id
    identity: fraud.Identity
    experiment_unit: str | None  # the campaign's experiment, if it has one
    # The advocate's rewarded referrals in the campaign, and in the last day.
    counted: tuple[int, int]
    # PostgreSQL: ids drawn for the referral and its (up to two) rewards, so that one
    # statement can write them with the outbox events that name them (``booking``).
    ids: tuple[int, ...] = ()


# The campaign's columns the decision and the booking read.
_CAMPAIGN_COLUMNS = (
    Campaign.id,
    Campaign.workspace_id,
    Campaign.status,
    Campaign.starts_at,
    Campaign.ends_at,
    Campaign.trigger_event,
    Campaign.min_order_amount,
    Campaign.first_purchase_only,
    Campaign.hold_days,
    Campaign.budget,
    Campaign.per_advocate_cap,
    *(
        getattr(Campaign, f"{side}_reward_{part}")
        for side in ("inviter", "invitee")
        for part in ("kind", "amount", "currency")
    ),
)
_CAMPAIGN_NAMES = tuple(column.key for column in _CAMPAIGN_COLUMNS)


@dataclass(frozen=True)
class Verdict:
    """What the conversion earns: the sides of its offer and the state they start in."""

    sides: list[dict[str, Any]]
    state: str | None  # None: nothing to reward (not the campaign's trigger, no offer)
    reasons: list[str]
    approve_after: datetime
    approve_now: bool  # no return window left: approved as they are written
    triggered: bool


_LIVE_REWARDS = Reward.state.in_(rules.LIVE)


# A person's referrals in the campaign, found through the person: ``campaign_id + 0`` is a
# filter, never an index condition. Without planner statistics (no autovacuum) PostgreSQL
# could otherwise enter through another person's index that leads with the campaign
# (ix_referrals_campaign_invitee for an advocate's count) and read every referral of the
# campaign on every conversion: work that grew with each one.
_IN_CAMPAIGN = (Referral.campaign_id + 0) == bindparam("campaign_id")


def _rewarded_referrals(*conditions: Any) -> Any:
    """How many referrals matching ``conditions`` hold a live reward."""
    return (
        select(func.count(func.distinct(Reward.referral_id)))
        .select_from(Referral)
        .join(Reward, Reward.referral_id == Referral.id)
        .where(_LIVE_REWARDS, *conditions)
        .scalar_subquery()
    )


# Uncorrelated subqueries: each is evaluated once per execution, not once per row.
_IDS: tuple[Any, ...] = tuple(
    literal_column(f"(SELECT nextval('{sequence}'))").label(f"id_{n}")
    for n, sequence in enumerate(("referrals_id_seq", "rewards_id_seq", "rewards_id_seq"))
)


@lru_cache(maxsize=2)
def _gather(draw_ids: bool) -> Any:
    """The gathering query; ``draw_ids`` (PostgreSQL) also draws the booking's ids."""
    return _GATHER.add_columns(*_IDS) if draw_ids else _GATHER


_GATHER = (
    select(
        *_CAMPAIGN_COLUMNS,
        Experiment.unit.label("experiment_unit"),
        Customer.external_id.label("advocate"),
        Customer.email_normalized.label("stored_email"),
        Conversion.email_normalized,
        Conversion.visitor_id,
        Conversion.ip_hash,
        Conversion.user_agent,
        # The limits' counts of the advocate, read after their row was locked (by the
        # statement that claimed the conversion): used when nothing else needs a lock.
        _rewarded_referrals(_IN_CAMPAIGN, Referral.advocate_id == bindparam("advocate_id")).label(
            "advocate_rewarded"
        ),
        _rewarded_referrals(
            Referral.advocate_id == bindparam("advocate_id"),
            Referral.created_at >= bindparam("since", type_=Referral.created_at.type),
        ).label("advocate_last_day"),
    )
    .select_from(Customer)
    .join(Campaign, Campaign.id == bindparam("campaign_id"))
    .outerjoin(Experiment, Experiment.campaign_id == Campaign.id)
    .outerjoin(
        Conversion,
        and_(Conversion.customer_id == Customer.id, Conversion.id != bindparam("conversion_id")),
    )
    .where(Customer.id == bindparam("advocate_id"))
    .order_by(Conversion.occurred_at.desc())
    .limit(200)
)


def gather_context(
    session: DbSession, *, touch: Touch, invitee: Invitee, conversion: Any, now: datetime
) -> Context:
    """The campaign, its experiment's unit, and both people's identities, in one query: the
    advocate's row joined to the campaign, with the advocate's own conversions (emails,
    visitor ids, devices)."""
    draw_ids = dialect_name(session) == "postgresql"
    rows = run(
        session,
        _gather(draw_ids),
        {
            "campaign_id": touch.campaign_id,
            "advocate_id": touch.advocate_id,
            "conversion_id": conversion.id,
            "since": now - timedelta(days=1),
        },
    ).all()
    first = rows[0]
    own = [r for r in rows if r.visitor_id or r.ip_hash or r.email_normalized]
    emails = {e for e in [first.stored_email, *(r.email_normalized for r in own)] if e}
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
    campaign = SimpleNamespace(**{name: getattr(first, name) for name in _CAMPAIGN_NAMES})
    # Rewards are listed by id: the first side's the smaller one, as with a plain INSERT.
    ids = (first.id_0, *sorted((first.id_1, first.id_2))) if draw_ids else ()
    counted = (int(first.advocate_rewarded), int(first.advocate_last_day))
    return Context(campaign, first.advocate, identity, first.experiment_unit, counted, ids)


def decide_verdict(
    session: DbSession,
    *,
    context: Context,
    conversion: Any,
    touch: Touch,
    invitee: Invitee,
    velocity_limit: int,
    now: datetime,
) -> Verdict:
    """The offer (an experiment's variant, or the campaign's own) and the fraud verdict."""
    campaign, occurred_at = context.campaign, conversion.occurred_at
    offer: Offer = campaign
    if context.experiment_unit is not None:
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
        # A customer created by this very report has no purchase before it.
        first_purchase = (
            None if invitee.new else _first_purchase(session, invitee.id, conversion.id)
        )
        findings = fraud.check_identity(context.identity) + fraud.check_order(
            fraud.Order(
                event=conversion.event,
                amount=conversion.amount,
                min_order_amount=campaign.min_order_amount or 0,
                first_purchase_only=campaign.first_purchase_only,
                campaign_live=campaign_is_live(campaign, occurred_at),
                purchased_before_touch=first_purchase is not None
                and first_purchase < touch.touched_at,
                purchased_before=first_purchase is not None and first_purchase < occurred_at,
                invitee_email_domains=fraud.email_domains(invitee.emails),
            )
        )
        if not any(f.action == fraud.REJECT for f in findings):
            # Only rewards that may be paid take a share of the limits.
            total = sum(s["amount"] for s in sides)
            findings += fraud.check_limits(
                _limits(session, context, touch, invitee, total, velocity_limit, now)
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
    row = run(session, select(crm, reported)).one()
    times = [_aware(value) for value in row if value is not None]
    return min(times) if times else None


def _aware(value: Any) -> datetime:
    """An aggregate's timestamp as an aware UTC datetime, whatever the driver returned."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_LOCK_CAMPAIGN = (
    select(Campaign.id)
    .where(Campaign.id == bindparam("campaign_id"))
    .with_for_update(key_share=True)
)
_LOCK_INVITEE = (
    select(Customer.id)
    .where(Customer.id == bindparam("invitee_id"))
    .with_for_update(key_share=True)
)


@lru_cache(maxsize=4)
def _counts(invitee_new: bool, budget: bool) -> Any:
    """What the limits count, built once per shape: the advocate's rewarded referrals in
    the campaign and in the last day, the invitee's (unless new), the campaign's spend."""
    campaign: Any = bindparam("campaign_id")
    advocate: Any = bindparam("advocate_id")
    counts = [
        _rewarded_referrals(_IN_CAMPAIGN, Referral.advocate_id == advocate),
        _rewarded_referrals(
            Referral.advocate_id == advocate,
            Referral.created_at >= bindparam("since", type_=Referral.created_at.type),
        ),
    ]
    if not invitee_new:
        counts.append(
            _rewarded_referrals(_IN_CAMPAIGN, Referral.invitee_id == bindparam("invitee_id"))
        )
    if budget:
        counts.append(
            select(func.coalesce(func.sum(Reward.amount), 0))
            .where(Reward.campaign_id == campaign, _LIVE_REWARDS)
            .scalar_subquery()
        )
    return select(*counts)


def _limits(
    session: DbSession,
    context: Context,
    touch: Touch,
    invitee: Invitee,
    reward_total: int,
    velocity_limit: int,
    now: datetime,
) -> fraud.Limits:
    """Lock, then count what the limits need; the locks last until commit.

    The advocate's row was locked by the statement that claimed the conversion (on
    PostgreSQL, ``conversions.claim_conversion``), before ``gather_context`` counted their
    referrals: with no budget and an invitee created by this report (locked already: the
    row is this transaction's, unseen by any other; no rewards yet), those counts are all
    the limits need. Otherwise locks are taken advocate, campaign, invitee, then counted;
    two conversions crossing them (each one's invitee the other's advocate, in one budgeted
    campaign) deadlock, and PostgreSQL's deadlock error runs the request again.
    """
    campaign = context.campaign
    if campaign.budget is None and invitee.new:
        return _checked_limits(campaign, reward_total, velocity_limit, *context.counted)
    if campaign.budget is not None:
        run(session, _LOCK_CAMPAIGN, {"campaign_id": campaign.id}).all()
    if not invitee.new and invitee.id != touch.advocate_id:
        run(session, _LOCK_INVITEE, {"invitee_id": invitee.id}).all()
    row = iter(
        run(
            session,
            _counts(invitee.new, campaign.budget is not None),
            {
                "campaign_id": campaign.id,
                "advocate_id": touch.advocate_id,
                "invitee_id": invitee.id,
                "since": now - timedelta(days=1),
            },
        ).one()
    )
    advocate_rewarded, advocate_last_day = int(next(row)), int(next(row))
    invitee_rewarded = False if invitee.new else int(next(row)) > 0
    spent = None if campaign.budget is None else int(next(row))
    return _checked_limits(
        campaign,
        reward_total,
        velocity_limit,
        advocate_rewarded,
        advocate_last_day,
        invitee_rewarded=invitee_rewarded,
        spent=spent,
    )


def _checked_limits(
    campaign: Any,
    reward_total: int,
    velocity_limit: int,
    advocate_rewarded: int,
    advocate_last_day: int,
    *,
    invitee_rewarded: bool = False,
    spent: int | None = None,
) -> fraud.Limits:
    return fraud.Limits(
        reward_total=reward_total,
        budget_remaining=None if spent is None else campaign.budget - spent,
        per_advocate_cap=campaign.per_advocate_cap,
        advocate_rewarded_referrals=advocate_rewarded,
        advocate_referrals_last_day=advocate_last_day,
        velocity_limit=velocity_limit,
        invitee_already_rewarded=invitee_rewarded,
    )
