"""Recording conversions and moving rewards through their states.

``record_conversion`` does, in the caller's transaction: find or create the invitee,
attribute the conversion (``evidence``), store it once per event_id (INSERT ... ON
CONFLICT DO NOTHING: a concurrent duplicate waits for the first, then answers with its
result), run the fraud checks, and write the referral, both rewards, their history and
the outbox events. Limits (budget, cap, velocity, one reward per invitee) are counted
under row locks (PostgreSQL ``FOR NO KEY UPDATE`` on the campaign when it has a budget,
and on the advocate's and invitee's customer rows), so concurrent conversions cannot
both take the last of something. Functions flush, never commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select, update

from advocacy.campaigns.models import Campaign
from advocacy.campaigns.rules import Offer, campaign_is_live
from advocacy.customers.emails import normalize_email
from advocacy.customers.models import Customer, EngagementEvent
from advocacy.errors import Conflict, NotFound, Unprocessable
from advocacy.experiments.assignment import conversion_offer
from advocacy.links.clicks import hash_ip
from advocacy.pagination import page_by_id
from advocacy.rewards import bookkeeping, fraud, rules
from advocacy.rewards.attribution import Touch
from advocacy.rewards.evidence import Evidence, TokenSettings, attribute_conversion
from advocacy.rewards.models import Conversion, Referral, Reward, RewardEvent
from advocacy.types import DbSession
from advocacy.upserts import insert_ignoring_conflicts
from advocacy.webhooks.service import DomainEvent, emit_events

# Reports from the future are refused beyond this much clock skew.
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_ID = 2**63 - 1
SIGNED_UP, CONVERTED, REWARDED, REJECTED = "signed_up", "converted", "rewarded", "rejected"


@dataclass(frozen=True)
class ConversionSettings:
    signing_keys: Sequence[str]
    link_max_age_days: int
    ip_key: bytes  # SECRET_KEY: IPs are compared as keyed hashes, like clicks
    velocity_limit: int


@dataclass(frozen=True)
class Recorded:
    """The conversion as the API shows it; ``created`` is False for a known event_id."""

    body: dict[str, Any]
    created: bool


# --- reading -----------------------------------------------------------------------


def _external_ids(session: DbSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.execute(select(Customer.id, Customer.external_id).where(Customer.id.in_(ids)))
        .tuples()
        .all()
    )


def reward_body(
    reward: Reward, customer: str, history: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body = {
        "id": reward.id,
        "campaign_id": reward.campaign_id,
        "role": reward.role,
        "customer": customer,
        "kind": reward.kind,
        "amount": reward.amount,
        "currency": reward.currency,
        "state": reward.state,
        "reasons": list(reward.reasons or []),
        "approve_after": reward.approve_after,
        "code": reward.code,
        "created_at": reward.created_at,
        "updated_at": reward.updated_at,
    }
    if history is not None:
        body["history"] = history
    return body


def _conversion_body(
    conversion: Conversion,
    customer: str,
    referral: Referral | None,
    advocate: str | None,
    rewards: Sequence[tuple[Reward, str]],
) -> dict[str, Any]:
    return {
        "event_id": conversion.event_id,
        "event": conversion.event,
        "customer": customer,
        "amount": conversion.amount,
        "currency": conversion.currency,
        "occurred_at": conversion.occurred_at,
        "attributed": conversion.attributed,
        "reason": conversion.reason,
        "referral": None
        if referral is None
        else {
            "id": referral.id,
            "campaign_id": referral.campaign_id,
            "advocate": advocate,
            "evidence": referral.evidence,
            "link_id": referral.link_id,
            "click_id": referral.click_id,
            "touched_at": referral.touched_at,
            "state": referral.state,
            "reason": referral.reason,
        },
        "rewards": [reward_body(r, who) for r, who in rewards],
        "refunded_amount": conversion.refunded_amount,
        "created_at": conversion.created_at,
    }


def describe_conversion(session: DbSession, conversion: Conversion) -> dict[str, Any]:
    """A stored conversion with its referral and rewards, as the API shows it."""
    referral = session.scalar(select(Referral).where(Referral.conversion_id == conversion.id))
    rewards = list(
        session.scalars(
            select(Reward).where(Reward.conversion_id == conversion.id).order_by(Reward.id)
        )
    )
    names = _external_ids(
        session,
        {conversion.customer_id, *(r.beneficiary_id for r in rewards)}
        | ({referral.advocate_id} if referral else set()),
    )
    return _conversion_body(
        conversion,
        names.get(conversion.customer_id, ""),
        referral,
        names.get(referral.advocate_id) if referral else None,
        [(r, names.get(r.beneficiary_id, "")) for r in rewards],
    )


def get_conversion(
    session: DbSession, workspace_id: int, event_id: str, *, lock: bool = False
) -> Conversion:
    query = select(Conversion).where(
        Conversion.workspace_id == workspace_id, Conversion.event_id == event_id
    )
    if lock:
        query = query.with_for_update()
    conversion = session.scalar(query) if "\x00" not in event_id else None
    if conversion is None:
        raise NotFound(f"No conversion {event_id!r} in this workspace.")
    return conversion


# --- recording ---------------------------------------------------------------------


def facts_fingerprint(report: dict[str, Any]) -> str:
    """What makes two reports of one event_id the same event."""
    facts = [
        report["event"],
        report["invitee"]["external_id"],
        report.get("amount"),
        report.get("currency"),
        report["occurred_at"].isoformat(),
    ]
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()


def _invitee(
    session: DbSession, workspace_id: int, invitee: dict[str, Any]
) -> tuple[int, str | None]:
    """The invitee's customer id and stored normalised email; created on first sight.

    An existing customer is left as the CRM wrote it: the site's report does not
    overwrite a record the CRM owns.
    """
    email = invitee["email"]
    customer_id = session.execute(
        insert_ignoring_conflicts(session, Customer, ("workspace_id", "external_id"))
        .values(
            workspace_id=workspace_id,
            external_id=invitee["external_id"],
            email=email,
            email_normalized=normalize_email(email),
            first_name=invitee.get("first_name"),
            last_name=invitee.get("last_name"),
            consent_email=False,
            consent_sms=False,
            consent_social=False,
            attributes={},
        )
        .returning(Customer.id)
    ).scalar()
    if customer_id is not None:
        return customer_id, normalize_email(email)
    row = session.execute(
        select(Customer.id, Customer.email_normalized).where(
            Customer.workspace_id == workspace_id, Customer.external_id == invitee["external_id"]
        )
    ).one()
    return row.id, row.email_normalized


def _identity(
    session: DbSession,
    touch: Touch,
    invitee_id: int,
    invitee_emails: frozenset[str],
    conversion: Conversion,
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
        invitee_id=invitee_id,
        advocate_emails=frozenset(emails),
        invitee_emails=invitee_emails,
        advocate_visitor_ids=frozenset(r.visitor_id for r in own if r.visitor_id),
        invitee_visitor_id=conversion.visitor_id,
        advocate_devices=frozenset((r.ip_hash, r.user_agent or "") for r in own if r.ip_hash),
        invitee_device=device,
    )
    return identity, advocate.external_id


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
    settings: ConversionSettings,
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
        velocity_limit=settings.velocity_limit,
        invitee_already_rewarded=int(row[2]) > 0,
    )


def _sides(offer: Offer, advocate_id: int, invitee_id: int) -> list[dict[str, Any]]:
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


def _history(
    session: DbSession,
    steps: Sequence[tuple[Reward, str | None, str, str | None]],
    *,
    api_key_id: int | None,
    now: datetime,
) -> None:
    if steps:
        session.execute(
            # Nulls rendered: every row has the same columns, so one INSERT, not one per
            # set of non-null keys.
            insert(RewardEvent).execution_options(render_nulls=True),
            [
                {
                    "workspace_id": reward.workspace_id,
                    "reward_id": reward.id,
                    "from_state": before,
                    "to_state": after,
                    "reason": reason,
                    "api_key_id": api_key_id,
                    "at": now,
                }
                for reward, before, after, reason in steps
            ],
        )


def _reward_event(reward: Reward, type_: str, customer: str | None = None) -> DomainEvent:
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


def record_conversion(
    session: DbSession,
    *,
    workspace_id: int,
    report: dict[str, Any],
    settings: ConversionSettings,
    now: datetime,
) -> Recorded:
    """Record a reported sign-up or purchase, attribute it, and write its rewards.

    A known event_id with the same facts answers with what was recorded (``created`` is
    False); with other facts it is a Conflict.
    """
    occurred_at: datetime = report["occurred_at"]
    if occurred_at > now + MAX_CLOCK_SKEW:
        raise Unprocessable(
            "The conversion is in the future.", errors={"occurred_at": ["Is in the future."]}
        )
    fingerprint = facts_fingerprint(report)
    # A known event_id is found by the INSERT below (ON CONFLICT DO NOTHING): retries come
    # with their Idempotency-Key, so a duplicate without one is rare enough to cost reads.
    invitee = report["invitee"]
    invitee_id, stored_email = _invitee(session, workspace_id, invitee)
    email = normalize_email(invitee["email"])
    evidence = Evidence(
        ref=report.get("ref"),
        attribution=report.get("attribution"),
        visitor_id=report.get("visitor_id"),
        invitee_id=invitee_id,
        invitee_email=email,
    )
    decision = attribute_conversion(
        session,
        workspace_id=workspace_id,
        evidence=evidence,
        occurred_at=occurred_at,
        settings=TokenSettings(settings.signing_keys, settings.link_max_age_days * 86400),
    )
    ip = report.get("ip")
    conversion = session.scalars(
        insert_ignoring_conflicts(session, Conversion, ("workspace_id", "event_id"))
        .values(
            workspace_id=workspace_id,
            event_id=report["event_id"],
            event=report["event"],
            customer_id=invitee_id,
            email_normalized=email,
            amount=report.get("amount"),
            currency=report.get("currency"),
            occurred_at=occurred_at,
            fingerprint=fingerprint,
            ref=report.get("ref"),
            visitor_id=report.get("visitor_id"),
            ip_hash=hash_ip(ip, settings.ip_key) if ip else None,
            user_agent=report.get("user_agent"),
            attributed=decision.touch is not None,
            reason=decision.reason,
            refunded_amount=0,
            created_at=now,
        )
        .returning(Conversion)
    ).first()
    if conversion is None:
        # The same event_id, committed by a concurrent request while we looked: theirs.
        existing = session.scalar(
            select(Conversion).where(
                Conversion.workspace_id == workspace_id,
                Conversion.event_id == report["event_id"],
            )
        )
        assert existing is not None
        return _known(session, existing, fingerprint)
    customer = invitee["external_id"]
    if decision.touch is None:
        return Recorded(_conversion_body(conversion, customer, None, None, []), True)

    touch = decision.touch
    campaign = session.get_one(Campaign, touch.campaign_id)
    identity, advocate = _identity(
        session,
        touch,
        invitee_id,
        frozenset(e for e in (email, stored_email) if e),
        conversion,
    )
    events: list[DomainEvent] = []
    rewards: list[Reward] = []
    # The experiment's variant for this advocate or invitee, else the campaign's own offer.
    offer = conversion_offer(
        session,
        campaign=campaign,
        advocate_id=touch.advocate_id,
        invitee_id=invitee_id,
        invitee=customer,
        at=occurred_at,
    )
    triggered = conversion.event == campaign.trigger_event
    sides = _sides(offer, touch.advocate_id, invitee_id) if triggered else []
    state: str | None = None
    reasons: list[str] = []
    if sides:
        first_purchase = _first_purchase(session, invitee_id, conversion.id)
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
        if sides and not any(f.action == fraud.REJECT for f in findings):
            # Only rewards that may be paid take a share of the limits.
            findings += fraud.check_limits(
                _limits(
                    session,
                    campaign,
                    touch,
                    invitee_id,
                    sum(s["amount"] for s in sides),
                    settings,
                    now,
                )
            )
        state, reasons = fraud.verdict(findings)

    due = rules.approve_after(occurred_at, campaign.hold_days or 0)
    # No return window left to wait for: the rewards are approved as they are written.
    approve_now = state == rules.PENDING and due <= now
    referral = Referral(
        workspace_id=workspace_id,
        campaign_id=campaign.id,
        conversion_id=conversion.id,
        link_id=touch.link_id,
        click_id=touch.click_id,
        advocate_id=touch.advocate_id,
        invitee_id=invitee_id,
        evidence=touch.evidence,
        touched_at=touch.touched_at,
        state=REWARDED if approve_now else CONVERTED,
        created_at=now,
        updated_at=now,
    )
    if state == rules.REJECTED:
        referral.state, referral.reason = REJECTED, ",".join(reasons)
    elif not triggered:
        # Attributed, but not what this campaign rewards (a sign-up in a purchase campaign).
        referral.state = SIGNED_UP if conversion.event == "signup" else CONVERTED
        referral.reason = f"trigger_is_{campaign.trigger_event}"
    session.add(referral)
    session.flush()
    events.append(
        DomainEvent(
            workspace_id,
            "referral.attributed",
            {
                "referral_id": referral.id,
                "campaign_id": campaign.id,
                "event_id": conversion.event_id,
                "event": conversion.event,
                "advocate": advocate,
                "invitee": customer,
                "evidence": touch.evidence,
                "state": referral.state,
            },
        )
    )
    names = {touch.advocate_id: advocate, invitee_id: customer}
    if sides and state is not None:
        rewards = [
            Reward(
                workspace_id=workspace_id,
                campaign_id=campaign.id,
                conversion_id=conversion.id,
                referral_id=referral.id,
                state=rules.APPROVED if approve_now else state,
                reasons=list(reasons),
                approve_after=due,
                created_at=now,
                updated_at=now,
                **side,
            )
            for side in sides
        ]
        session.add_all(rewards)
        session.flush()
        steps: list[tuple[Reward, str | None, str, str | None]] = [
            (r, None, state, ",".join(reasons) or None) for r in rewards
        ]
        if approve_now:
            steps += [(r, state, rules.APPROVED, "no return window") for r in rewards]
            bookkeeping.post_awards(session, rewards, now=now)
        _history(session, steps, api_key_id=None, now=now)
        events += [_reward_event(r, "reward.created", names[r.beneficiary_id]) for r in rewards]
        if approve_now:
            events += [
                _reward_event(r, "reward.approved", names[r.beneficiary_id]) for r in rewards
            ]
    emit_events(session, events=events, now=now)
    session.flush()
    return Recorded(
        _conversion_body(
            conversion,
            customer,
            referral,
            advocate,
            [(r, names[r.beneficiary_id]) for r in rewards],
        ),
        True,
    )


def _known(session: DbSession, conversion: Conversion, fingerprint: str) -> Recorded:
    if conversion.fingerprint != fingerprint:
        raise Conflict(
            f"Conversion {conversion.event_id!r} was already reported with other details "
            "(event, invitee, amount, currency or time)."
        )
    return Recorded(describe_conversion(session, conversion), False)


# --- moving rewards -------------------------------------------------------------------


def _approve(
    session: DbSession,
    rewards: Sequence[Reward],
    *,
    reason: str | None,
    api_key_id: int | None,
    now: datetime,
    names: dict[int, str] | None = None,
) -> list[DomainEvent]:
    """Approve and book rewards (already checked to be pending or held)."""
    steps = []
    for reward in rewards:
        steps.append((reward, reward.state, rules.APPROVED, reason))
        reward.state = rules.APPROVED
        reward.updated_at = now
    session.flush()
    bookkeeping.post_awards(session, rewards, now=now)
    _history(session, steps, api_key_id=api_key_id, now=now)
    names = names or {}
    return [_reward_event(r, "reward.approved", names.get(r.beneficiary_id)) for r in rewards]


def _sync_referral(session: DbSession, referral_id: int, now: datetime) -> None:
    """Rewarded once any reward is booked; rejected once every reward is final."""
    states = set(session.scalars(select(Reward.state).where(Reward.referral_id == referral_id)))
    if not states:
        return
    if states & set(rules.BOOKED):
        value, reason = REWARDED, None
    elif states <= rules.FINAL:
        value, reason = REJECTED, "rewards rejected or reversed"
    else:
        value, reason = CONVERTED, None
    session.execute(
        update(Referral)
        .where(Referral.id == referral_id, Referral.state != value)
        .values(state=value, reason=reason, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )


def get_reward(
    session: DbSession, workspace_id: int, reward_id: int, *, lock: bool = False
) -> Reward:
    reward = None
    if 0 < reward_id <= MAX_ID:
        query = select(Reward).where(Reward.id == reward_id, Reward.workspace_id == workspace_id)
        if lock:
            query = query.with_for_update()
        reward = session.scalar(query)
    if reward is None:
        raise NotFound(f"No reward {reward_id} in this workspace.")
    return reward


def change_reward(
    session: DbSession,
    reward: Reward,
    target: str,
    *,
    reason: str | None,
    api_key_id: int | None,
    now: datetime,
    code: str | None = None,
) -> list[DomainEvent]:
    """Move a (locked) reward to ``target``, with its ledger movement and history.

    Returns the events to emit. Raises Conflict for a move the state machine forbids.
    """
    if not rules.can_transition(reward.state, target):
        raise Conflict(f"Reward {reward.id} is {reward.state}; it cannot become {target}.")
    if target == rules.APPROVED:
        events = _approve(session, [reward], reason=reason, api_key_id=api_key_id, now=now)
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
        _history(session, [(reward, before, target, reason)], api_key_id=api_key_id, now=now)
        events = [_reward_event(reward, f"reward.{target}")]
    _sync_referral(session, reward.referral_id, now)
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
) -> dict[str, Any]:
    """approve (pending or held), reject (pending or held) or issue (approved) a reward.

    Repeating the action on a reward already in its target state changes nothing.
    """
    target = {"approve": rules.APPROVED, "reject": rules.REJECTED, "issue": rules.ISSUED}[action]
    reward = get_reward(session, workspace_id, reward_id, lock=True)
    if reward.state != target:
        events = change_reward(
            session, reward, target, reason=reason, api_key_id=api_key_id, now=now, code=code
        )
        emit_events(session, events=events, now=now)
        session.flush()
    return describe_rewards(session, [reward])[0]


def describe_rewards(session: DbSession, rewards: Sequence[Reward]) -> list[dict[str, Any]]:
    """Rewards with their beneficiary, conversion and history, as the API shows them."""
    if not rewards:
        return []
    ids = [r.id for r in rewards]
    history: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for event in session.scalars(
        select(RewardEvent).where(RewardEvent.reward_id.in_(ids)).order_by(RewardEvent.id)
    ):
        history[event.reward_id].append(
            {
                "from_state": event.from_state,
                "to_state": event.to_state,
                "reason": event.reason,
                "at": event.at,
            }
        )
    names = _external_ids(session, {r.beneficiary_id for r in rewards})
    events = dict(
        session.execute(
            select(Conversion.id, Conversion.event_id).where(
                Conversion.id.in_({r.conversion_id for r in rewards})
            )
        )
        .tuples()
        .all()
    )
    out = []
    for reward in rewards:
        body = reward_body(reward, names.get(reward.beneficiary_id, ""), history[reward.id])
        body["event_id"] = events.get(reward.conversion_id)
        out.append(body)
    return out


def list_rewards(
    session: DbSession,
    workspace_id: int,
    *,
    state: str | None,
    campaign_id: int | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Rewards by id (oldest first), e.g. the review queue (``state=held``), with a cursor."""
    query = select(Reward).where(Reward.workspace_id == workspace_id)
    if state is not None:
        query = query.where(Reward.state == state)
    if campaign_id is not None:
        query = query.where(Reward.campaign_id == campaign_id)
    rows, next_cursor = page_by_id(session, query, Reward.id, limit=limit, cursor=cursor)
    return describe_rewards(session, rows), next_cursor


def customer_rewards(
    session: DbSession, workspace_id: int, external_id: str, *, limit: int, cursor: str | None
) -> dict[str, Any]:
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
    return {
        "customer": customer.external_id,
        "balance": [{"unit": unit, "amount": amount} for unit, amount in balances.items()],
        "pending": sorted(
            ({"unit": rules.unit(currency), "amount": int(total)} for currency, total in pending),
            key=lambda item: str(item["unit"]),
        ),
        "items": describe_rewards(session, rows),
        "next_cursor": next_cursor,
    }


def settle_rewards(session: DbSession, *, now: datetime, limit: int = 200) -> int:
    """Approve pending rewards whose return window has passed; returns how many.

    On PostgreSQL several settlers can run at once: each skips rows another has locked.
    """
    query = (
        select(Reward)
        .where(Reward.state == rules.PENDING, Reward.approve_after <= now)
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
        events += _approve(session, batch, reason="return window elapsed", api_key_id=None, now=now)
    for referral_id in {r.referral_id for r in rewards}:
        _sync_referral(session, referral_id, now)
    emit_events(session, events=events, now=now)
    session.flush()
    return len(rewards)


def campaign_spend(session: DbSession, campaign_id: int) -> int:
    """What the campaign's live rewards claim of its budget."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Reward.amount), 0)).where(
                and_(Reward.campaign_id == campaign_id, _LIVE_REWARDS)
            )
        )
        or 0
    )
