"""Erasing a person: every personal field in every table removed or pseudonymised.

What stays, and why (README, Privacy): the customer row under a random pseudonym, and the
rows that carry money or counts (events' amounts, conversions, referrals, rewards, the
ledger, clicks, shares, enrollments, experiment assignments), pointing at the pseudonym,
so every aggregate still adds up. What goes: names, emails, locale, consent, attributes,
connections, mention texts, the attribution evidence of their conversions (normalised
email, visitor id, IP hash, user agent), the device traces of their clicks (user agent
removed, visitor id and IP hash replaced by random values, consistently, so unique-visitor
counts do not change), the email of invitations addressed to them, their ranking scores,
and their CRM id wherever a JSON document kept it (webhook payloads in the outbox, stored
idempotent answers), where it becomes the pseudonym. Their enrollments are withdrawn and
every link they share, or that invites them, is revoked.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, delete, func, or_, select, update

from advocacy.advocates.models import AdvocateScore
from advocacy.campaigns.models import Enrollment
from advocacy.customers.models import Connection, Mention
from advocacy.customers.service import CUSTOMER_COLUMNS, get_customer
from advocacy.links.models import Click, ReferralLink
from advocacy.privacy.scrub import json_forms, replace_strings
from advocacy.rewards.models import Conversion, IdempotencyKey, Referral
from advocacy.types import DbSession
from advocacy.webhooks.models import OutboxEvent

PSEUDONYM_PREFIX = "~"


@dataclass
class Erasure:
    """What an erasure did: the pseudonym, and the links it revoked (the click path's
    caches must forget them)."""

    pseudonym: str
    revoked_link_ids: list[int] = field(default_factory=list)


def _pseudonym() -> str:
    # '~' cannot start a CRM id (fields.ExternalId) nor a visitor cookie: never a real one.
    return PSEUDONYM_PREFIX + uuid.uuid4().hex


def erase_customer(
    session: DbSession, *, workspace_id: int, external_id: str, now: datetime
) -> Erasure:
    """Erase the person ``external_id`` of a workspace (see the module's docstring)."""
    customer = get_customer(session, workspace_id=workspace_id, external_id=external_id)
    email = customer.email_normalized
    erasure = Erasure(pseudonym=_pseudonym())
    _erase_devices(session, workspace_id, customer.id)
    _erase_conversions(session, workspace_id, customer.id, email)
    erasure.revoked_link_ids = _revoke_links(session, workspace_id, customer.id, email, now)
    session.execute(
        update(Enrollment)
        .where(Enrollment.customer_id == customer.id, Enrollment.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    )
    session.execute(delete(AdvocateScore).where(AdvocateScore.customer_id == customer.id))
    session.execute(
        delete(Connection).where(
            Connection.workspace_id == workspace_id,
            or_(Connection.source_id == customer.id, Connection.target_id == customer.id),
        )
    )
    session.execute(
        update(Mention)
        .where(Mention.workspace_id == workspace_id, Mention.customer_id == customer.id)
        .values(text=None, updated_at=now)
    )
    # Whole strings only: the CRM id becomes the pseudonym, an email address null. (Names
    # are not replaced: another person's "Ann" would go with them.)
    replacements: dict[str, str | None] = {external_id: erasure.pseudonym}
    replacements.update({address: None for address in (customer.email, email) if address})
    for model, column in ((OutboxEvent, "payload"), (IdempotencyKey, "response_body")):
        _rewrite_documents(session, workspace_id, model, column, replacements)
    customer.external_id = erasure.pseudonym
    for name in CUSTOMER_COLUMNS:
        setattr(customer, name, None)
    customer.consent_email = customer.consent_sms = customer.consent_social = False
    customer.attributes = {}
    customer.erased_at = customer.updated_at = now
    session.flush()
    return erasure


def own_clicks(workspace_id: int, customer_id: int) -> Any:
    """The condition on clicks that are the person's own visits: the clicks their referrals
    name, and every click of a visitor id those clicks or their conversions carry."""
    referred = select(Referral.click_id).where(
        Referral.invitee_id == customer_id, Referral.click_id.is_not(None)
    )
    visitor_ids = (
        select(Conversion.visitor_id)
        .where(Conversion.customer_id == customer_id, Conversion.visitor_id.is_not(None))
        .union(select(Click.visitor_id).where(Click.id.in_(referred)))
    )
    return and_(
        Click.workspace_id == workspace_id,
        or_(Click.id.in_(referred), Click.visitor_id.in_(visitor_ids)),
    )


def _erase_devices(session: DbSession, workspace_id: int, customer_id: int) -> None:
    """Their clicks lose the user agent; visitor id and IP hash become random values, one
    per original, so distinct-visitor counts stay what they were."""
    rows = session.execute(
        select(Click.id, Click.visitor_id, Click.ip_hash).where(
            own_clicks(workspace_id, customer_id)
        )
    ).all()
    if not rows:
        return
    visitors = _random_values(r.visitor_id for r in rows)
    addresses = _random_values(r.ip_hash for r in rows)
    # A Core UPDATE per (visitor, address) pair: a few statements, no ORM objects.
    for (visitor, address), ids in _group(rows, visitors, addresses).items():
        session.execute(
            update(Click)
            .where(Click.id.in_(ids))
            .values(visitor_id=visitor, ip_hash=address, user_agent=None)
            .execution_options(synchronize_session=False)
        )


def _random_values(originals: Iterable[str]) -> dict[str, str]:
    return {value: PSEUDONYM_PREFIX + secrets.token_hex(16) for value in set(originals)}


def _group(
    rows: Iterable[Any], visitors: dict[str, str], addresses: dict[str, str]
) -> dict[tuple[str, str], list[int]]:
    groups: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        key = (visitors[row.visitor_id], addresses[row.ip_hash])
        groups.setdefault(key, []).append(row.id)
    return groups


def _erase_conversions(
    session: DbSession, workspace_id: int, customer_id: int, email: str | None
) -> None:
    """Their conversions keep amounts and attribution, not the evidence that named them."""
    mine = Conversion.customer_id == customer_id
    if email:
        mine = or_(mine, Conversion.email_normalized == email)
    session.execute(
        update(Conversion)
        .where(Conversion.workspace_id == workspace_id, mine)
        .values(email_normalized=None, visitor_id=None, ip_hash=None, user_agent=None)
        .execution_options(synchronize_session=False)
    )


def addressed_to(customer_id: int, email: str | None) -> Any:
    """The condition on links that are personal invitations addressed to the person."""
    condition = ReferralLink.invitee_customer_id == customer_id
    return or_(condition, ReferralLink.invitee_email_normalized == email) if email else condition


def _revoke_links(
    session: DbSession, workspace_id: int, customer_id: int, email: str | None, now: datetime
) -> list[int]:
    """Revoke the links they share and the invitations addressed to them; the latter lose
    the address (a random key keeps the link's row unique)."""
    addressed = addressed_to(customer_id, email)
    links = session.execute(
        select(ReferralLink.id, ReferralLink.invitee_key, addressed.label("addressed")).where(
            ReferralLink.workspace_id == workspace_id,
            or_(ReferralLink.advocate_id == customer_id, addressed),
        )
    ).all()
    for link in links:
        values: dict[str, Any] = {"revoked_at": func.coalesce(ReferralLink.revoked_at, now)}
        if link.addressed:
            values["invitee_email_normalized"] = None
            if link.invitee_key.startswith("e:"):
                values["invitee_key"] = "e:" + _pseudonym()
        session.execute(
            update(ReferralLink)
            .where(ReferralLink.id == link.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return [link.id for link in links]


def _rewrite_documents(
    session: DbSession,
    workspace_id: int,
    model: Any,
    column: str,
    replacements: dict[str, str | None],
) -> None:
    """Replace the person's identifiers in a JSON column, in the rows whose text holds one.

    The text search (a scan of the workspace's rows: erasure is rare) finds candidates;
    the replacement is exact, string by string, in the parsed document.
    """
    attribute = getattr(model, column)
    text = cast(attribute, String)
    found = [text.contains(form, autoescape=True) for v in replacements for form in json_forms(v)]
    rows = session.execute(
        select(model.id, attribute).where(model.workspace_id == workspace_id, or_(*found))
    ).all()
    for row_id, document in rows:
        session.execute(
            update(model)
            .where(model.id == row_id)
            .values({column: replace_strings(document, replacements)})
            .execution_options(synchronize_session=False)
        )
