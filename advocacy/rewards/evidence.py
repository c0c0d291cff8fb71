"""Finding the touches behind a conversion, tier by tier, and attributing it.

Each tier is read only when the ones before it found nothing inside its window, so the
common case (a ``ref`` from the landing URL) costs two indexed queries. Links that were
revoked, or whose advocate was withdrawn, before the conversion count for nothing.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, func, or_, select

from advocacy.campaigns.models import Campaign, Enrollment
from advocacy.links import tokens
from advocacy.links.models import Click, ReferralLink
from advocacy.rewards.attribution import Attribution, Touch, attribute
from advocacy.rewards.models import Referral
from advocacy.statements import run
from advocacy.types import DbSession

# The longest attribution window a campaign may have: no click older than this counts.
MAX_WINDOW = timedelta(days=365)
MAX_VISITOR_CLICKS = 100
# While a ref's click is awaited (written behind the redirect), read again this often.
CLICK_POLL_SECONDS = 0.025


@dataclass(frozen=True)
class Evidence:
    """What the site reported, and who the invitee turned out to be."""

    ref: str | None
    attribution: str | None  # the signed attribution cookie, as set by /r/<token>
    visitor_id: str | None
    invitee_id: int
    invitee_email: str | None  # normalised
    invitee_new: bool = False  # created by this report: no referrals before it


@dataclass(frozen=True)
class TokenSettings:
    signing_keys: Sequence[str]
    link_max_age_seconds: int
    # Clicks written behind the redirect: how long a ref waits for its click to be stored.
    click_wait_seconds: float = 0.0


_LINK_COLUMNS = (
    ReferralLink.id.label("link_id"),
    ReferralLink.campaign_id,
    ReferralLink.advocate_id,
    Campaign.attribution_window_days,
    Campaign.attribution_model,
)


def _usable_links(query: Any, workspace_id: Any, occurred_at: Any, *, by_id: bool = False) -> Any:
    """Join link, campaign and enrollment; keep links alive when the conversion happened.

    ``by_id``: the query names its link by id, so the workspace is checked as a filter
    (``+ 0``), never an index condition: without planner statistics PostgreSQL could
    otherwise read every link of the workspace (ix_referral_links_workspace_campaign)
    instead of the one the primary key finds."""
    workspace = (ReferralLink.workspace_id + 0) if by_id else ReferralLink.workspace_id
    return (
        query.join(Campaign, Campaign.id == ReferralLink.campaign_id)
        .join(Enrollment, Enrollment.id == ReferralLink.enrollment_id)
        .where(
            workspace == workspace_id,
            or_(ReferralLink.revoked_at.is_(None), ReferralLink.revoked_at > occurred_at),
            or_(Enrollment.withdrawn_at.is_(None), Enrollment.withdrawn_at > occurred_at),
        )
    )


def _touch(evidence: str, row: Any, touched_at: datetime, click_id: int | None) -> Touch:
    return Touch(
        evidence=evidence,
        campaign_id=row.campaign_id,
        link_id=row.link_id,
        advocate_id=row.advocate_id,
        touched_at=touched_at,
        window_days=row.attribution_window_days,
        model=row.attribution_model,
        click_id=click_id,
    )


class _Click(NamedTuple):
    id: int
    clicked_at: datetime


def _last_click(column: Any, *where: Any) -> Any:
    """``column`` of the link's latest click at or before the conversion (correlated)."""
    return (
        select(column)
        .where(Click.link_id == ReferralLink.id, Click.clicked_at <= _OCCURRED_AT, *where)
        .order_by(Click.clicked_at.desc(), Click.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _ref_query(visitor: bool) -> Any:
    """The ref's link (alive at the conversion) with its latest click and, given a visitor
    id, the visitor's latest click; built once, with bound parameters."""
    picks = [
        _last_click(Click.id).label("latest_id"),
        _last_click(Click.clicked_at).label("latest_at"),
    ]
    if visitor:
        mine = Click.visitor_id == bindparam("visitor_id")
        picks += [
            _last_click(Click.id, mine).label("mine_id"),
            _last_click(Click.clicked_at, mine).label("mine_at"),
        ]
    return _usable_links(
        select(*_LINK_COLUMNS, ReferralLink.token, *picks),
        bindparam("workspace_id"),
        _OCCURRED_AT,
        by_id=True,
    ).where(ReferralLink.id == bindparam("link_id"))


_OCCURRED_AT = bindparam("occurred_at", type_=Click.clicked_at.type)
_REF, _REF_WITH_VISITOR = _ref_query(visitor=False), _ref_query(visitor=True)


def _ref_touches(
    session: DbSession,
    workspace_id: int,
    evidence: Evidence,
    occurred_at: datetime,
    settings: TokenSettings,
    problems: list[str],
) -> list[Touch]:
    if not evidence.ref:
        return []
    try:
        link_id = tokens.read_link(
            evidence.ref, settings.signing_keys, settings.link_max_age_seconds
        )
    except tokens.ExpiredToken:
        problems.append("expired_ref")
        return []
    except tokens.InvalidToken:
        problems.append("invalid_ref")
        return []
    cookie = _cookie(evidence, settings)
    # A cookie for this link names its click even before the row is written: no wait.
    waits = cookie is None or cookie.link_id != link_id
    row = _ref_row(
        session,
        {
            "link_id": link_id,
            "workspace_id": workspace_id,
            "occurred_at": occurred_at,
            "visitor_id": evidence.visitor_id,
        },
        evidence,
        settings.click_wait_seconds if waits else 0.0,
    )
    # A renewed link has a new token; another workspace's link is unknown here.
    if row is None or not hmac.compare_digest(row.token, evidence.ref):
        problems.append("invalid_ref")
        return []
    click = _ref_click(row, evidence.visitor_id)
    if _in_flight(cookie, link_id, click, occurred_at):
        # The attribution cookie names a later click on this very link, not written yet
        # (clicks are written behind the redirect): that click is the visit.
        assert cookie is not None
        return [_touch("ref", row, _cookie_time(cookie), cookie.click_id)]
    if click is None:
        problems.append("no_matching_click")
        return []
    return [_touch("ref", row, click.clicked_at, click.id)]


def _ref_row(session: DbSession, params: dict[str, Any], evidence: Evidence, wait: float) -> Any:
    """The ref's link, with the click the ref stands for (one query): the visitor's own
    click on the link if we know them, else the latest click on it before the conversion.

    While that click is not stored (clicks are written behind the redirect: it may be on its
    way), the query is read again for up to ``wait`` seconds."""
    query = _REF_WITH_VISITOR if evidence.visitor_id else _REF
    deadline = time.monotonic() + wait
    while True:
        row = run(session, query, params).first()
        if row is None or not hmac.compare_digest(row.token, evidence.ref or ""):
            return row
        stored = row.mine_id if evidence.visitor_id else row.latest_id
        left = deadline - time.monotonic()
        if stored is not None or left <= 0:
            return row
        time.sleep(min(CLICK_POLL_SECONDS, left))


def _ref_click(row: Any, visitor_id: str | None) -> _Click | None:
    if visitor_id and row.mine_id is not None:
        return _Click(row.mine_id, row.mine_at)
    if row.latest_id is not None:
        return _Click(row.latest_id, row.latest_at)
    return None


def _cookie(evidence: Evidence, settings: TokenSettings) -> tokens.AttributionRef | None:
    return tokens.read_attribution(
        evidence.attribution, settings.signing_keys, int(MAX_WINDOW.total_seconds())
    )


def _cookie_time(cookie: tokens.AttributionRef) -> datetime:
    """When the cookie's click happened: its signature's time (whole seconds, so at most a
    second before the click row's own time)."""
    return datetime.fromtimestamp(cookie.clicked_at, UTC)


def _in_flight(
    cookie: tokens.AttributionRef | None, link_id: int, found: Any, occurred_at: datetime
) -> bool:
    """Whether the cookie names a click on ``link_id`` newer than the stored click ``found``
    (None: no click stored) and not after the conversion."""
    if cookie is None or cookie.link_id != link_id or _cookie_time(cookie) > occurred_at:
        return False
    return found is None or (
        found.id != cookie.click_id and found.clicked_at < _cookie_time(cookie)
    )


def _click_touches(
    session: DbSession,
    workspace_id: int,
    evidence: Evidence,
    occurred_at: datetime,
    settings: TokenSettings,
    problems: list[str],
) -> list[Touch]:
    touches: list[Touch] = []
    columns = (*_LINK_COLUMNS, Click.id.label("click_id"), Click.clicked_at)
    if evidence.attribution:
        cookie = _cookie(evidence, settings)
        row = None
        if cookie is not None:
            # The link, and the click if it is written yet (clicks are written behind the
            # redirect: the cookie's own click id and time stand in until it is).
            row = run(
                session,
                _usable_links(
                    select(*_LINK_COLUMNS, Click.id.label("click_id"), Click.clicked_at)
                    .select_from(ReferralLink)
                    .outerjoin(
                        Click, and_(Click.id == cookie.click_id, Click.link_id == ReferralLink.id)
                    ),
                    workspace_id,
                    occurred_at,
                ).where(
                    ReferralLink.id == cookie.link_id,
                    ReferralLink.campaign_id == cookie.campaign_id,
                ),
            ).first()
        if row is None or cookie is None:
            problems.append("invalid_cookie")
        elif row.click_id is None:
            touches.append(_touch("cookie", row, _cookie_time(cookie), cookie.click_id))
        else:
            touches.append(_touch("cookie", row, row.clicked_at, row.click_id))
    if evidence.visitor_id:
        seen = {t.click_id for t in touches}
        rows = run(
            session,
            _usable_links(
                select(*columns)
                .select_from(Click)
                .join(ReferralLink, ReferralLink.id == Click.link_id),
                workspace_id,
                occurred_at,
            )
            .where(
                Click.workspace_id == workspace_id,
                Click.visitor_id == evidence.visitor_id,
                # Later clicks are read too: they make "outside the window" the answer.
                Click.clicked_at >= occurred_at - MAX_WINDOW,
            )
            .order_by(Click.clicked_at.desc())
            .limit(MAX_VISITOR_CLICKS),
        )
        touches.extend(
            _touch("visitor", row, row.clicked_at, row.click_id)
            for row in rows
            if row.click_id not in seen
        )
    return touches


def _invitation_touches(
    session: DbSession,
    workspace_id: int,
    evidence: Evidence,
    occurred_at: datetime,
    settings: TokenSettings,
    problems: list[str],
) -> list[Touch]:
    addressed = ReferralLink.invitee_customer_id == evidence.invitee_id
    if evidence.invitee_email:
        addressed = or_(addressed, ReferralLink.invitee_email_normalized == evidence.invitee_email)
    last_click = (
        select(func.max(Click.clicked_at))
        .where(Click.link_id == ReferralLink.id, Click.clicked_at <= occurred_at)
        .scalar_subquery()
    )
    rows = run(
        session,
        _usable_links(
            select(*_LINK_COLUMNS, ReferralLink.created_at, last_click.label("last_click")),
            workspace_id,
            occurred_at,
        ).where(addressed, ReferralLink.created_at <= occurred_at),
    )
    # The invitation counts from when it was clicked, or else from when it was issued.
    return [_touch("invitation", row, row.last_click or row.created_at, None) for row in rows]


def _prior_referral_touches(
    session: DbSession,
    workspace_id: int,
    evidence: Evidence,
    occurred_at: datetime,
    settings: TokenSettings,
    problems: list[str],
) -> list[Touch]:
    if evidence.invitee_new:
        return []
    rows = run(
        session,
        select(
            Referral.link_id,
            Referral.campaign_id,
            Referral.advocate_id,
            Referral.click_id,
            Referral.touched_at,
            Campaign.attribution_window_days,
            Campaign.attribution_model,
        )
        .join(Campaign, Campaign.id == Referral.campaign_id)
        .where(
            and_(
                Referral.workspace_id == workspace_id,
                Referral.invitee_id == evidence.invitee_id,
                Referral.touched_at <= occurred_at,
            )
        )
        .order_by(Referral.touched_at.desc())
        .limit(5),
    )
    return [_touch("prior_referral", row, row.touched_at, row.click_id) for row in rows]


Gatherer = Callable[[DbSession, int, Evidence, datetime, TokenSettings, list[str]], list[Touch]]
TIERS: tuple[Gatherer, ...] = (
    _ref_touches,
    _click_touches,
    _invitation_touches,
    _prior_referral_touches,
)


def attribute_conversion(
    session: DbSession,
    *,
    workspace_id: int,
    evidence: Evidence,
    occurred_at: datetime,
    settings: TokenSettings,
) -> Attribution:
    """The winning touch, reading one tier of evidence at a time."""
    problems: list[str] = []
    seen: list[Touch] = []
    for gather in TIERS:
        touches = gather(session, workspace_id, evidence, occurred_at, settings, problems)
        decision = attribute(touches, occurred_at)
        if decision.touch is not None:
            return decision
        seen.extend(touches)
    return attribute(seen, occurred_at, problems)
