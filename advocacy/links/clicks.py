"""The click path: follow a referral token, record the visit, say where to send the visitor.

This is the hot path. A forged token costs one HMAC and no query; a good one costs one
query by primary keys (link, campaign, enrollment, workspace), rarely a second (a returning
visitor whose last click was on another campaign) and one INSERT.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select

from advocacy.campaigns.models import Campaign, Enrollment
from advocacy.customers.models import Customer
from advocacy.experiments.assignment import invitation_offer
from advocacy.links import rules, tokens
from advocacy.links.models import Click, ReferralLink
from advocacy.types import DbSession
from advocacy.workspaces.models import Workspace

MAX_USER_AGENT = 512  # clicks.user_agent is VARCHAR(512)
_VISITOR_SHAPE = re.compile(r"^[A-Za-z0-9_\-]{16,64}\Z")

_clicks = Click.__table__

# Built once: executing a prepared construct skips rebuilding it and its cache key per click.
# One row per token: everything the decision needs, by primary keys, no ORM objects.
_LINK_ROW = (
    select(
        ReferralLink.workspace_id,
        ReferralLink.campaign_id,
        ReferralLink.token,
        ReferralLink.expires_at,
        ReferralLink.revoked_at,
        Campaign.status,
        Campaign.starts_at,
        Campaign.ends_at,
        Campaign.landing_url,
        Campaign.fallback_url,
        Campaign.attribution_window_days,
        Enrollment.withdrawn_at,
        Workspace.allowed_domains,
    )
    .join(Campaign, Campaign.id == ReferralLink.campaign_id)
    .join(Enrollment, Enrollment.id == ReferralLink.enrollment_id)
    .join(Workspace, Workspace.id == ReferralLink.workspace_id)
    .where(ReferralLink.id == bindparam("link_id"))
)
_SEEN_RECENTLY = (
    select(_clicks.c.id)
    .where(
        _clicks.c.campaign_id == bindparam("campaign_id"),
        _clicks.c.visitor_id == bindparam("visitor_id"),
        _clicks.c.clicked_at >= bindparam("since", type_=_clicks.c.clicked_at.type),
    )
    .limit(1)
)
_RECORD_CLICK = insert(_clicks).returning(_clicks.c.id)


@dataclass(frozen=True)
class LinkSettings:
    """What the click path needs from the configuration."""

    signing_keys: Sequence[str]
    max_age_days: int
    ip_key: bytes  # SECRET_KEY, for the keyed hash of IP addresses

    @property
    def max_age_seconds(self) -> int:
        return self.max_age_days * 86400


@dataclass(frozen=True)
class Visit:
    """Who is clicking, as the request tells it."""

    visitor_id: str | None  # the first-party visitor cookie, if any
    attribution: str | None  # the attribution cookie, if any
    ip: str
    user_agent: str | None


@dataclass(frozen=True)
class Refused:
    """Show a friendly page: ``reason`` is unknown, expired, revoked, withdrawn, inactive
    or unavailable (landing URL not allowed); ``status`` is 404 or 410."""

    reason: str
    status: int
    fallback_url: str | None = None


@dataclass(frozen=True)
class Followed:
    """Redirect to ``location`` and set both cookies."""

    location: str
    visitor_id: str
    attribution: str
    attribution_max_age: int
    click_id: int
    unique_visit: bool


_STATUS = {
    "unknown": 404,
    "unavailable": 404,
    "expired": 410,
    "revoked": 410,
    "withdrawn": 410,
    "inactive": 410,
}


def _refused(reason: str, row: Any) -> Refused:
    """A refusal that can offer the campaign's fallback URL, if it is on the allow-list."""
    return Refused(
        reason, _STATUS[reason], rules.allowed_url(row.fallback_url, row.allowed_domains)
    )


def hash_ip(ip: str, key: bytes) -> str:
    """HMAC-SHA256 of the address: comparable between clicks, not reversible without the key."""
    return hmac.new(key, ip.encode(), hashlib.sha256).hexdigest()


def check_token(
    session: DbSession, token: str, settings: LinkSettings, now: datetime
) -> tuple[int, Any] | Refused:
    """The link id and its row for a token that may be followed now, or why not.

    The signature is checked first: a forged or tampered token never reaches the database.
    """
    try:
        link_id = tokens.read_link(token, settings.signing_keys, settings.max_age_seconds)
    except tokens.InvalidToken:
        return Refused("unknown", 404)
    except tokens.ExpiredToken:
        return Refused("expired", 410)
    # Core on the session's connection: no ORM layer for a row that is only read.
    row = session.connection().execute(_LINK_ROW, {"link_id": link_id}).first()
    # A renewed link has a new token: the old one is authentic but no longer the link's.
    if row is None or not hmac.compare_digest(row.token, token):
        return Refused("unknown", 404)
    reason = rules.refusal(
        now=now,
        campaign=row,
        revoked_at=row.revoked_at,
        expires_at=row.expires_at,
        withdrawn_at=row.withdrawn_at,
    )
    if reason is not None:
        return _refused(reason, row)
    return link_id, row


def _is_unique(
    session: DbSession,
    *,
    campaign_id: int,
    visitor_id: str | None,
    attribution: tokens.AttributionRef | None,
    window: timedelta,
    now: datetime,
) -> bool:
    """Whether this is the visitor's first visit to the campaign within the window."""
    if attribution is not None and attribution.campaign_id == campaign_id:
        return False  # the cookie lives as long as the window: a recent visit, no query
    if visitor_id is None:
        return True  # a first visit
    seen = (
        session.connection()
        .execute(
            _SEEN_RECENTLY,
            {"campaign_id": campaign_id, "visitor_id": visitor_id, "since": now - window},
        )
        .first()
    )
    return seen is None


def follow_link(
    session: DbSession, *, token: str, visit: Visit, settings: LinkSettings, now: datetime
) -> Followed | Refused:
    """Verify a token, record the click and say where to go; flushes, never commits."""
    checked = check_token(session, token, settings, now)
    if isinstance(checked, Refused):
        return checked
    link_id, row = checked
    # Re-checked on every click: the allow-list may have shrunk since the campaign was saved.
    landing = rules.allowed_url(row.landing_url, row.allowed_domains)
    if landing is None:
        return _refused("unavailable", row)

    window = timedelta(days=row.attribution_window_days)
    visitor_id = (
        visit.visitor_id if visit.visitor_id and _VISITOR_SHAPE.match(visit.visitor_id) else None
    )
    attribution = tokens.read_attribution(
        visit.attribution, settings.signing_keys, int(window.total_seconds())
    )
    unique = _is_unique(
        session,
        campaign_id=row.campaign_id,
        visitor_id=visitor_id,
        attribution=attribution,
        window=window,
        now=now,
    )
    visitor_id = visitor_id or secrets.token_urlsafe(16)
    click_id = (
        session.connection()
        .execute(
            _RECORD_CLICK,
            {
                "workspace_id": row.workspace_id,
                "campaign_id": row.campaign_id,
                "link_id": link_id,
                "visitor_id": visitor_id,
                "ip_hash": hash_ip(visit.ip, settings.ip_key),
                "user_agent": (visit.user_agent or None) and visit.user_agent[:MAX_USER_AGENT],
                "unique_visit": unique,
                "clicked_at": now,
            },
        )
        .scalar_one()
    )
    return Followed(
        location=rules.with_ref(landing, token),
        visitor_id=visitor_id,
        attribution=tokens.sign_attribution(
            row.campaign_id, link_id, click_id, settings.signing_keys
        ),
        attribution_max_age=int(window.total_seconds()),
        click_id=click_id,
        unique_visit=unique,
    )


@dataclass(frozen=True)
class Invitation:
    """What the invitation page shows."""

    token: str
    inviter_first_name: str | None
    campaign: Any  # the Campaign row: rewards, disclosure, translations


def read_invitation(
    session: DbSession, *, token: str, settings: LinkSettings, now: datetime
) -> Invitation | Refused:
    """The invitation behind a token, or why there is none; reads only, records nothing."""
    checked = check_token(session, token, settings, now)
    if isinstance(checked, Refused):
        return checked
    link_id, row = checked
    if rules.allowed_url(row.landing_url, row.allowed_domains) is None:
        return _refused("unavailable", row)
    found = session.execute(
        select(Customer.first_name, Customer.erased_at, Campaign)
        .join(ReferralLink, ReferralLink.advocate_id == Customer.id)
        .join(Campaign, Campaign.id == ReferralLink.campaign_id)
        .where(ReferralLink.id == link_id)
    ).one()
    name = None if found.erased_at is not None else rules.first_name(found.first_name)
    # An advocate in an incentive experiment: the page offers their variant's rewards.
    campaign = invitation_offer(session, found.Campaign, link_id)
    return Invitation(token=token, inviter_first_name=name, campaign=campaign)
