"""Recording a reported conversion, in named steps, in the caller's transaction.

``record_conversion`` reads as its steps: find the invitee (created on first sight),
attribute the conversion (``evidence``), claim it once per event_id (INSERT ... ON
CONFLICT DO NOTHING: a concurrent duplicate waits for the first, then answers with its
result), decide the offer and the fraud verdict (``verdicts``), book the referral and both
rewards with their history and ledger transactions, and announce the events in the outbox
(``booking``). Functions flush, never commit; what they return is shaped by the API's
response schemas.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, select

from advocacy.customers.emails import normalize_email
from advocacy.customers.models import Customer
from advocacy.errors import Conflict, NotFound, Unprocessable
from advocacy.links.clicks import hash_ip
from advocacy.rewards.attribution import Attribution
from advocacy.rewards.booking import book_rewards
from advocacy.rewards.evidence import Evidence, TokenSettings, attribute_conversion
from advocacy.rewards.lifecycle import RewardView, external_ids
from advocacy.rewards.models import Conversion, Referral, Reward
from advocacy.rewards.verdicts import Invitee, decide_verdict, gather_context
from advocacy.statements import run
from advocacy.types import DbSession
from advocacy.upserts import dialect_name, insert_ignoring_conflicts

# Reports from the future are refused beyond this much clock skew.
MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class ConversionSettings:
    signing_keys: Sequence[str]
    link_max_age_days: int
    ip_key: bytes  # SECRET_KEY: IPs are compared as keyed hashes, like clicks
    velocity_limit: int
    click_wait_seconds: float = 0.0  # a ref's click written behind: how long to wait for it


@dataclass(frozen=True)
class ReferralView:
    referral: Any  # a Referral, or a row with its columns
    advocate: str  # the advocate's external id


@dataclass(frozen=True)
class ConversionView:
    """A conversion as the API shows it, with its referral and rewards."""

    conversion: Any  # a Conversion, or a row with its columns
    customer: str  # the invitee's external id
    referral: ReferralView | None
    rewards: list[RewardView]


@dataclass(frozen=True)
class Recorded:
    """``created`` is False for an event_id recorded before."""

    view: ConversionView
    created: bool


# --- reading ---------------------------------------------------------------------------


def get_conversion(
    session: DbSession, *, workspace_id: int, event_id: str, lock: bool = False
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


def describe_conversion(session: DbSession, *, conversion: Conversion) -> ConversionView:
    """A stored conversion with its referral and rewards."""
    referral = session.scalar(select(Referral).where(Referral.conversion_id == conversion.id))
    rewards = list(
        session.scalars(
            select(Reward).where(Reward.conversion_id == conversion.id).order_by(Reward.id)
        )
    )
    names = external_ids(
        session,
        {conversion.customer_id, *(r.beneficiary_id for r in rewards)}
        | ({referral.advocate_id} if referral else set()),
    )
    return ConversionView(
        conversion,
        names.get(conversion.customer_id, ""),
        None if referral is None else ReferralView(referral, names.get(referral.advocate_id, "")),
        [RewardView(r, names.get(r.beneficiary_id, "")) for r in rewards],
    )


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


# --- recording -------------------------------------------------------------------------


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
    _refuse_the_future(report["occurred_at"], now)
    invitee = find_invitee(session, workspace_id=workspace_id, invitee=report["invitee"])
    attribution = attribute(
        session, workspace_id=workspace_id, report=report, invitee=invitee, settings=settings
    )
    conversion = claim_conversion(
        session,
        workspace_id=workspace_id,
        report=report,
        invitee=invitee,
        attribution=attribution,
        settings=settings,
        now=now,
    )
    if isinstance(conversion, Recorded):
        return conversion  # the event_id was recorded before: that answer
    touch = attribution.touch
    if touch is None:
        return Recorded(ConversionView(conversion, invitee.external_id, None, []), True)
    context = gather_context(session, touch=touch, invitee=invitee, conversion=conversion, now=now)
    verdict = decide_verdict(
        session,
        context=context,
        conversion=conversion,
        touch=touch,
        invitee=invitee,
        velocity_limit=settings.velocity_limit,
        now=now,
    )
    advocate = context.advocate
    names = {touch.advocate_id: advocate, invitee.id: invitee.external_id}
    booked = book_rewards(
        session,
        campaign=context.campaign,
        conversion=conversion,
        touch=touch,
        verdict=verdict,
        names=names,
        now=now,
        ids=context.ids,
    )
    rewards = [RewardView(r, names[r.beneficiary_id]) for r in booked.rewards]
    referral = ReferralView(booked.referral, advocate)
    return Recorded(ConversionView(conversion, invitee.external_id, referral, rewards), True)


def _refuse_the_future(occurred_at: datetime, now: datetime) -> None:
    if occurred_at > now + MAX_CLOCK_SKEW:
        raise Unprocessable(
            "The conversion is in the future.", errors={"occurred_at": ["Is in the future."]}
        )


_INSERTS: dict[tuple[str, str], Any] = {}


def _inserting(session: DbSession, model: Any, unique: tuple[str, ...], *returning: Any) -> Any:
    """INSERT ... ON CONFLICT (unique) DO NOTHING RETURNING, built once per table and
    dialect; the values come with each execution."""
    key = (model.__tablename__, session.get_bind().dialect.name)
    statement = _INSERTS.get(key)
    if statement is None:
        statement = insert_ignoring_conflicts(session, model.__table__, unique).returning(
            *returning
        )
        _INSERTS[key] = statement
    return statement


def find_invitee(session: DbSession, *, workspace_id: int, invitee: dict[str, Any]) -> Invitee:
    """The invitee as a customer, created on first sight.

    An existing customer is left as the CRM wrote it: the site's report does not
    overwrite a record the CRM owns.
    """
    email = normalize_email(invitee["email"])
    customer_id = run(
        session,
        _inserting(session, Customer, ("workspace_id", "external_id"), Customer.id),
        {
            "workspace_id": workspace_id,
            "external_id": invitee["external_id"],
            "email": invitee["email"],
            "email_normalized": email,
            "first_name": invitee.get("first_name"),
            "last_name": invitee.get("last_name"),
            "consent_email": False,
            "consent_sms": False,
            "consent_social": False,
            "attributes": {},
        },
    ).scalar()
    stored, new = email, customer_id is not None
    if customer_id is None:
        row = run(
            session,
            select(Customer.id, Customer.email_normalized).where(
                Customer.workspace_id == workspace_id,
                Customer.external_id == invitee["external_id"],
            ),
        ).one()
        customer_id, stored = row.id, row.email_normalized
    emails = frozenset(e for e in (email, stored) if e)
    return Invitee(customer_id, invitee["external_id"], email, emails, new)


def attribute(
    session: DbSession,
    *,
    workspace_id: int,
    report: dict[str, Any],
    invitee: Invitee,
    settings: ConversionSettings,
) -> Attribution:
    """The winning touch among the reported evidence, or why there is none."""
    return attribute_conversion(
        session,
        workspace_id=workspace_id,
        evidence=Evidence(
            ref=report.get("ref"),
            attribution=report.get("attribution"),
            visitor_id=report.get("visitor_id"),
            invitee_id=invitee.id,
            invitee_email=invitee.email,
            invitee_new=invitee.new,
        ),
        occurred_at=report["occurred_at"],
        settings=TokenSettings(
            settings.signing_keys,
            settings.link_max_age_days * 86400,
            settings.click_wait_seconds,
        ),
    )


_LOCKING_CLAIM: list[Any] = []


def _claiming_locking_advocate(session: DbSession) -> Any:
    """PostgreSQL: claim the conversion (INSERT ... ON CONFLICT DO NOTHING RETURNING) and, in
    the same statement, lock the advocate's row (FOR NO KEY UPDATE) for the limits, which
    are counted by the next statement (``verdicts.gather_context``) and so see every
    reward committed before the lock was granted. Built once (compiled once)."""
    if not _LOCKING_CLAIM:
        table = Conversion.__table__
        columns = [c for c in table.c if c.name != "id"]
        locked = exists(
            select(Customer.id)
            .where(Customer.id == bindparam("advocate_id"))
            .with_for_update(key_share=True)
        )
        values = select(*[bindparam(c.name, type_=c.type) for c in columns]).where(locked)
        _LOCKING_CLAIM.append(
            insert_ignoring_conflicts(session, table, ("workspace_id", "event_id"))
            .from_select([c.name for c in columns], values)
            .returning(*table.c)
        )
    return _LOCKING_CLAIM[0]


def claim_conversion(
    session: DbSession,
    *,
    workspace_id: int,
    report: dict[str, Any],
    invitee: Invitee,
    attribution: Attribution,
    settings: ConversionSettings,
    now: datetime,
) -> Any:
    """Store the conversion once per event_id: the row stored (its columns), or for a known
    event_id what was recorded then."""
    fingerprint = facts_fingerprint(report)
    ip = report.get("ip")
    touch = attribution.touch
    locks = touch is not None and dialect_name(session) == "postgresql"
    conversion = run(
        session,
        _claiming_locking_advocate(session)
        if locks
        else _inserting(session, Conversion, ("workspace_id", "event_id"), *Conversion.__table__.c),
        {
            "advocate_id": touch.advocate_id if touch is not None else None,
            "workspace_id": workspace_id,
            "event_id": report["event_id"],
            "event": report["event"],
            "customer_id": invitee.id,
            "email_normalized": invitee.email,
            "amount": report.get("amount"),
            "currency": report.get("currency"),
            "occurred_at": report["occurred_at"],
            "fingerprint": fingerprint,
            "ref": report.get("ref"),
            "visitor_id": report.get("visitor_id"),
            "ip_hash": hash_ip(ip, settings.ip_key) if ip else None,
            "user_agent": report.get("user_agent"),
            "attributed": attribution.touch is not None,
            "reason": attribution.reason,
            "refunded_amount": 0,
            "created_at": now,
        },
    ).first()
    if conversion is not None:
        return conversion
    # The same event_id, committed by a concurrent request while we looked, or before.
    existing = get_conversion(session, workspace_id=workspace_id, event_id=report["event_id"])
    if existing.fingerprint != fingerprint:
        raise Conflict(
            f"Conversion {existing.event_id!r} was already reported with other details "
            "(event, invitee, amount, currency or time)."
        )
    return Recorded(describe_conversion(session, conversion=existing), False)
