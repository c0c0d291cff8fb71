"""Issuing, reading and revoking referral links (the API side; the click path is clicks.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from advocacy.campaigns.models import Campaign, Enrollment
from advocacy.campaigns.service import get_campaign
from advocacy.customers.emails import normalize_email
from advocacy.customers.models import Customer
from advocacy.errors import Conflict, NotFound, Unprocessable
from advocacy.experiments.assignment import assign_advocates
from advocacy.fields import MAX_INT63
from advocacy.links import rules, tokens
from advocacy.links.models import ReferralLink
from advocacy.types import DbSession


@dataclass(frozen=True)
class IssuedLink:
    """A link as the API shows it; ``created`` is False when the same request came before."""

    link: ReferralLink
    created: bool
    advocate: str
    invitee: str | None


def _customer(session: DbSession, workspace_id: int, external_id: str) -> Customer | None:
    return session.scalar(
        select(Customer).where(
            Customer.workspace_id == workspace_id,
            Customer.external_id == external_id,
            Customer.erased_at.is_(None),
        )
    )


def _invitee(
    session: DbSession, workspace_id: int, invitee: str | None, advocate: Customer
) -> tuple[str, int | None, str | None]:
    """(invitee_key, invitee customer id, invitee normalised email) for an invitee reference.

    A customer's external id wins; otherwise the value must be an email address.
    """
    if invitee is None:
        return "", None, None
    customer = _customer(session, workspace_id, invitee)
    if customer is not None:
        if customer.id == advocate.id:
            raise Unprocessable(
                "An advocate cannot invite themselves.", errors={"invitee": ["Is the advocate."]}
            )
        return f"c:{customer.id}", customer.id, customer.email_normalized
    if "@" not in invitee.strip("@"):
        raise Unprocessable(
            "The invitee is neither a customer of this workspace nor an email address.",
            errors={"invitee": ["Unknown customer id, and not an email address."]},
        )
    email = normalize_email(invitee)
    if advocate.email_normalized and email == advocate.email_normalized:
        raise Unprocessable(
            "An advocate cannot invite themselves.", errors={"invitee": ["Is the advocate."]}
        )
    return f"e:{email}", None, email


def _existing(
    session: DbSession, campaign_id: int, advocate_id: int, channel: str, invitee_key: str
) -> ReferralLink | None:
    return session.scalar(
        select(ReferralLink).where(
            ReferralLink.campaign_id == campaign_id,
            ReferralLink.advocate_id == advocate_id,
            ReferralLink.channel == channel,
            ReferralLink.invitee_key == invitee_key,
        )
    )


def issue_link(
    session: DbSession,
    *,
    workspace_id: int,
    campaign_id: int,
    advocate: str,
    channel: str,
    invitee: str | None,
    now: datetime,
    max_age_days: int,
    signing_keys: Sequence[str],
) -> IssuedLink:
    """The advocate's link for a campaign and channel, created on the first request only.

    Raises NotFound (campaign), Unprocessable (unknown or not enrolled advocate, bad
    invitee), Conflict (campaign not live, advocate withdrawn, link revoked).
    """
    # Checks the id's range too: one past BIGINT is a 404, not a database error.
    campaign = get_campaign(session, workspace_id=workspace_id, campaign_id=campaign_id)
    refused = rules.issuance_refusal(campaign, now)
    if refused == "ended":
        raise Conflict(f"Campaign {campaign_id} has ended; it issues no more links.")
    if refused:
        raise Conflict(f"Campaign {campaign_id} is not live ({campaign.status}); no links now.")
    customer = _customer(session, workspace_id, advocate)
    if customer is None:
        raise Unprocessable(
            "The advocate is not a customer of this workspace.",
            errors={"advocate": ["Unknown customer id."]},
        )
    enrollment = session.scalar(
        select(Enrollment).where(
            Enrollment.campaign_id == campaign.id, Enrollment.customer_id == customer.id
        )
    )
    if enrollment is None:
        raise Unprocessable(
            "The advocate is not enrolled in this campaign.",
            errors={"advocate": ["Not enrolled in this campaign."]},
        )
    if enrollment.withdrawn_at is not None:
        raise Conflict("The advocate was withdrawn from this campaign.")
    # Enrolled before the campaign's experiment existed: assigned at their first link.
    assign_advocates(
        session, campaign_id=campaign.id, advocates={customer.id: customer.external_id}, at=now
    )
    invitee_key, invitee_id, invitee_email = _invitee(session, workspace_id, invitee, customer)
    shown_invitee = invitee if invitee_id is not None else invitee_email

    link = _existing(session, campaign.id, customer.id, channel, invitee_key)
    if link is None:
        link = ReferralLink(
            workspace_id=workspace_id,
            campaign_id=campaign.id,
            enrollment_id=enrollment.id,
            advocate_id=customer.id,
            channel=channel,
            invitee_key=invitee_key,
            invitee_customer_id=invitee_id,
            invitee_email_normalized=invitee_email,
            token="",  # signed below, once the id exists
            created_at=now,
            expires_at=rules.link_expiry(now, campaign.ends_at, max_age_days),
        )
        try:
            with session.begin_nested():
                session.add(link)
                session.flush()
        except IntegrityError:
            # The same request, concurrently: theirs won; answer with it.
            link = _existing(session, campaign.id, customer.id, channel, invitee_key)
            if link is None:
                raise
        else:
            link.token = tokens.sign_link(link.id, signing_keys)
            session.flush()
            return IssuedLink(link, True, customer.external_id, shown_invitee)
    _reuse(link, campaign, now, max_age_days, signing_keys)
    session.flush()
    return IssuedLink(link, False, customer.external_id, shown_invitee)


def _reuse(
    link: ReferralLink,
    campaign: Campaign,
    now: datetime,
    max_age_days: int,
    signing_keys: Sequence[str],
) -> None:
    """Hand out an existing link again, re-signed if it can no longer be followed.

    The click path accepts only the token stored on the link, so a re-signed link's old
    token stops working.
    """
    if link.revoked_at is not None:
        raise Conflict(f"Link {link.id} for this advocate, channel and invitee was revoked.")
    if now >= link.expires_at:
        # The campaign was extended past the link's life: renew it in place.
        link.token = tokens.sign_link(link.id, signing_keys)
        link.created_at = now
        link.expires_at = rules.link_expiry(now, campaign.ends_at, max_age_days)
        return
    try:
        tokens.read_link(link.token, signing_keys, max_age_days * 86400)
    except (tokens.InvalidToken, tokens.ExpiredToken):
        # Its key was removed from REFERRAL_SIGNING_KEYS (say, after a leak): sign it anew.
        link.token = tokens.sign_link(link.id, signing_keys)


def get_link(session: DbSession, *, workspace_id: int, link_id: int) -> ReferralLink:
    link = None
    if 0 < link_id <= MAX_INT63:
        link = session.scalar(
            select(ReferralLink).where(
                ReferralLink.id == link_id, ReferralLink.workspace_id == workspace_id
            )
        )
    if link is None:
        raise NotFound(f"No link {link_id} in this workspace.")
    return link


def revoke_link(session: DbSession, *, workspace_id: int, link_id: int, now: datetime) -> None:
    """Revoke a link for good (idempotent): its URL answers 410 from now on."""
    link = get_link(session, workspace_id=workspace_id, link_id=link_id)
    if link.revoked_at is None:
        link.revoked_at = now
        session.flush()


def describe_invitee(session: DbSession, *, link: ReferralLink) -> str | None:
    """Whom a personal link is addressed to: the customer's id, or the email."""
    if link.invitee_customer_id is not None:
        return session.scalar(
            select(Customer.external_id).where(Customer.id == link.invitee_customer_id)
        )
    return link.invitee_email_normalized


def describe_advocate(session: DbSession, *, link: ReferralLink) -> str:
    return session.scalar(select(Customer.external_id).where(Customer.id == link.advocate_id)) or ""
