"""Pure rules of referral links: when a link may be followed, where it may lead.

No Flask, no SQLAlchemy: plain values in, plain values out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from advocacy.campaigns.rules import Schedulable, campaign_is_live
from advocacy.campaigns.urls import check_url

REF_PARAM = "ref"


def campaign_ended(campaign: Schedulable, now: datetime) -> bool:
    return campaign.status == "ended" or (campaign.ends_at is not None and now >= campaign.ends_at)


def issuance_refusal(campaign: Schedulable, now: datetime) -> str | None:
    """Why a campaign issues no link now (``ended``, ``not_live``), or None when it does."""
    if campaign_ended(campaign, now):
        return "ended"
    if not campaign_is_live(campaign, now):
        return "not_live"
    return None


def link_expiry(created_at: datetime, ends_at: datetime | None, max_age_days: int) -> datetime:
    """A link lives until its campaign ends, and never longer than the maximum age."""
    limit = created_at + timedelta(days=max_age_days)
    return min(limit, ends_at) if ends_at is not None else limit


def refusal(
    *,
    now: datetime,
    campaign: Schedulable,
    revoked_at: datetime | None,
    expires_at: datetime,
    withdrawn_at: datetime | None,
) -> str | None:
    """Why a link must not be followed now (``revoked``, ``withdrawn``, ``expired``,
    ``inactive``), or None when it may."""
    if revoked_at is not None:
        return "revoked"
    if withdrawn_at is not None:
        return "withdrawn"
    if now >= expires_at or campaign_ended(campaign, now):
        return "expired"
    if not campaign_is_live(campaign, now):
        return "inactive"
    return None


def allowed_url(url: str | None, allowed_domains: Iterable[str] | None) -> str | None:
    """The normalised URL when it is https on an allowed domain, else None.

    Redirect to the returned URL, never to the stored one: what was checked is where
    people go.
    """
    if not url:
        return None
    try:
        return check_url(url, allowed_domains or ())
    except ValueError:
        return None


def with_ref(url: str, token: str) -> str:
    """The landing URL with ``ref=<token>`` added, its other query parameters kept."""
    return fill_ref(ref_template(url), token)


def fill_ref(template: tuple[str, str], token: str) -> str:
    head, tail = template
    return head + quote(token, safe="") + tail


def ref_template(url: str) -> tuple[str, str]:
    """``(head, tail)`` such that ``head + token + tail`` is ``url`` with ``ref=<token>``.

    Worked out once per landing URL, not once per click; the fragment stays last.
    """
    parts = urlsplit(url)
    # Other parameters stay byte for byte; tokens need no escaping (digits, letters, - _ .).
    kept = [p for p in parts.query.split("&") if p and p.split("=", 1)[0] != REF_PARAM]
    kept.append(f"{REF_PARAM}=\0")
    head, tail = urlunsplit(parts._replace(query="&".join(kept))).split("\0", 1)
    return head, tail


def first_name(value: Any) -> str | None:
    """A name fit for a headline: trimmed, at most 40 characters, None when blank."""
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value[:40] or None
