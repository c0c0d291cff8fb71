"""The click path: follow a referral token, record the visit, say where to send the visitor.

This is the hot path. A forged token costs one HMAC and no query. A good one costs one
query by primary keys (link, campaign, enrollment, workspace), rarely a second (a returning
visitor whose last click was on another campaign) and one INSERT. With a ``LinkCache`` the
first query is made once per link and cache period, not once per click; with a
``BufferedStore`` the INSERT is batched behind the redirect (advocacy/links/recorder.py),
so a click on a cached link usually takes no database connection at all.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import os
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from advocacy.campaigns.models import Campaign, Enrollment
from advocacy.customers.models import Customer
from advocacy.experiments.assignment import invitation_offer
from advocacy.links import rules, tokens
from advocacy.links.cache import LinkCache
from advocacy.links.models import Click, ReferralLink
from advocacy.links.recorder import ClickRecorder
from advocacy.types import DbSession
from advocacy.workspaces.models import Workspace

log = logging.getLogger("advocacy.clicks")

MAX_USER_AGENT = 512  # clicks.user_agent is VARCHAR(512)
_VISITOR_SHAPE = re.compile(r"^[A-Za-z0-9_\-]{16,64}\Z")

_clicks = Click.__table__

# Built once: executing a prepared construct skips rebuilding it and its cache key per click.
# One row per token: everything the decision needs, by primary keys, no ORM objects.
_LINK_COLUMNS = (
    select(
        ReferralLink.id,
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
)
_LINK_ROW = _LINK_COLUMNS.where(ReferralLink.id == bindparam("link_id"))
_LINK_ROWS = _LINK_COLUMNS.where(ReferralLink.id.in_(bindparam("link_ids", expanding=True)))
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


class _VisitorIds:
    """New visitor ids: the time in ms (11 hex digits), then 96 random bits (16 base64url
    characters), the random part drawn from the OS 64 at a time (a system call per click
    cost 7 us here).

    Time first, as a UUIDv7 is: three of the click indexes are keyed by visitor (within a
    link, a campaign, a workspace), and a new visitor's entries then land at the end of
    their range, on pages already in memory, instead of on a random page each. With COPY
    into the clicks table and its indexes, 300,000 rows: 16 to 24 us of PostgreSQL CPU a
    row against 20 to 26 for random ids. The ids stay unguessable (96 random bits) and of
    the same shape; older, random ones remain valid.
    """

    BATCH = 64

    def __init__(self) -> None:
        self._tails: list[str] = []
        self._lock = threading.Lock()
        # A forked worker must never hand out ids its parent drew.
        os.register_at_fork(after_in_child=self._tails.clear)

    def new(self) -> str:
        return f"{time.time_ns() // 1_000_000:011x}{self._tail()}"

    def _tail(self) -> str:
        try:
            return self._tails.pop()  # atomic: no random part is handed out twice
        except IndexError:
            pass
        with self._lock:
            if not self._tails:
                raw = os.urandom(12 * self.BATCH)
                self._tails.extend(
                    base64.urlsafe_b64encode(raw[i : i + 12]).decode("ascii")
                    for i in range(0, len(raw), 12)
                )
            return self._tails.pop()


_visitor_ids = _VisitorIds()
new_visitor_id = _visitor_ids.new


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


@functools.lru_cache(maxsize=4096)  # a burst of clicks from one address hashes it once
def hash_ip(ip: str, key: bytes) -> str:
    """HMAC-SHA256 of the address: comparable between clicks, not reversible without the key."""
    return _ip_hmac(key).digest(ip.encode()).hex()


@functools.lru_cache(maxsize=8)
def _ip_hmac(key: bytes) -> tokens.PaddedHMAC:
    return tokens.PaddedHMAC(key, hashlib.sha256)


def verify_token(token: str, settings: LinkSettings) -> int | Refused:
    """The link id an authentic, unexpired token names, or why not; no database.

    Callers check this first: a forged or tampered token never reaches the database (not
    even for a connection), nor the cache.
    """
    try:
        return tokens.read_link(token, settings.signing_keys, settings.max_age_seconds)
    except tokens.InvalidToken:
        return Refused("unknown", 404)
    except tokens.ExpiredToken:
        return Refused("expired", 410)


class ClickStore(Protocol):
    """Where the click path reads links and records clicks."""

    def link_row(self, link_id: int) -> Any | None:
        """The link's decision row (``_LINK_ROW``), or None."""

    def seen_recently(self, campaign_id: int, visitor_id: str, since: datetime) -> bool:
        """Whether the visitor clicked a link of the campaign since ``since``."""

    def record(self, values: dict[str, Any]) -> int:
        """Record a click; its id."""


class InlineStore:
    """Reads and writes on one connection, in the caller's transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def link_row(self, link_id: int) -> Any | None:
        return self.connection.execute(_LINK_ROW, {"link_id": link_id}).first()

    def seen_recently(self, campaign_id: int, visitor_id: str, since: datetime) -> bool:
        params = {"campaign_id": campaign_id, "visitor_id": visitor_id, "since": since}
        return self.connection.execute(_SEEN_RECENTLY, params).first() is not None

    def record(self, values: dict[str, Any]) -> int:
        return int(self.connection.execute(_RECORD_CLICK, values).scalar_one())


def reading(engine: Engine) -> Connection:
    """A pooled connection for lone SELECTs (PostgreSQL): autocommit, so no BEGIN before
    nor ROLLBACK after them."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


class BufferedStore:
    """Reads on a pooled connection taken only when needed; clicks go to a ``ClickRecorder``.

    A click whose link is cached and whose visitor needs no look-up takes no connection.
    """

    def __init__(self, engine: Engine, recorder: ClickRecorder) -> None:
        self.engine = engine
        self.recorder = recorder

    def _read(self, statement: Any, params: dict[str, Any]) -> Any | None:
        with reading(self.engine) as connection:
            return connection.execute(statement, params).first()

    def link_row(self, link_id: int) -> Any | None:
        return self._read(_LINK_ROW, {"link_id": link_id})

    def seen_recently(self, campaign_id: int, visitor_id: str, since: datetime) -> bool:
        params = {"campaign_id": campaign_id, "visitor_id": visitor_id, "since": since}
        return self._read(_SEEN_RECENTLY, params) is not None

    def record(self, values: dict[str, Any]) -> int:
        click_id = self.recorder.reserve_id()
        values = {**values, "id": click_id}
        if not self.recorder.add(values):
            log.warning("click queue full (%d): writing inline", self.recorder.pending)
            with self.engine.begin() as connection:
                connection.execute(insert(_clicks), values)
        return click_id


@dataclass(frozen=True)
class LinkState:
    """What a link's row decides, worked out once per read (and cached with it)."""

    row: Any
    # The landing URL as (head, tail) around the ref token, if it is on the allow-list.
    landing: tuple[str, str] | None
    fallback: str | None  # the fallback URL if it is on the allow-list


def _link_state(row: Any) -> LinkState:
    landing = rules.allowed_url(row.landing_url, row.allowed_domains)
    return LinkState(
        row=row,
        landing=rules.ref_template(landing) if landing is not None else None,
        fallback=rules.allowed_url(row.fallback_url, row.allowed_domains),
    )


def read_link_states(
    engine: Engine, link_ids: list[int], known: LinkCache | None = None
) -> dict[int, LinkState]:
    """The states of several links in one query (for the cache's refresher); a row that
    has not changed since ``known`` read it keeps its state (its URLs are not checked
    again: they are what was checked)."""
    states: dict[int, LinkState] = {}
    with reading(engine) as connection:
        for row in connection.execute(_LINK_ROWS, {"link_ids": link_ids}):
            previous = known.peek(row.id) if known is not None else None
            if isinstance(previous, LinkState) and tuple(previous.row) == tuple(row):
                states[row.id] = previous
            else:
                states[row.id] = _link_state(row)
    return states


def check_link(
    store: ClickStore,
    link_id: int,
    token: str,
    now: datetime,
    cache: LinkCache | None = None,
) -> LinkState | Refused:
    """The state of a link that may be followed now with ``token``, or the ``Refused``.

    ``link_id`` comes from ``verify_token(token, ...)``. The allow-list check of the
    landing URL is made when the row is read: a cached row carries it.
    """
    state = cache.get(link_id) if cache is not None else None
    # A cached row naming another token may be older than the link's renewal: ask again.
    if state is None or not hmac.compare_digest(state.row.token, token):
        try:
            row = store.link_row(link_id)
        except DBAPIError:
            # The database is away: the last known state, if it is recent enough.
            state = cache.database_failed(link_id) if cache is not None else None
            if state is None or not hmac.compare_digest(state.row.token, token):
                raise
            log.warning("database unreachable: link %d followed from its cached state", link_id)
        else:
            state = _link_state(row) if row is not None else None
            if state is not None and cache is not None:
                cache.put(link_id, state)
    # A renewed link has a new token: the old one is authentic but no longer the link's.
    if state is None or not hmac.compare_digest(state.row.token, token):
        return Refused("unknown", 404)
    row = state.row
    reason = rules.refusal(
        now=now,
        campaign=row,
        revoked_at=row.revoked_at,
        expires_at=row.expires_at,
        withdrawn_at=row.withdrawn_at,
    )
    if reason is None and state.landing is None:
        reason = "unavailable"
    if reason is not None:
        return Refused(reason, _STATUS[reason], state.fallback)
    return state


def landing_location(state: LinkState, token: str) -> str:
    """The landing URL with ``ref=<token>`` (of a state ``check_link`` accepted)."""
    # check_link refuses a link without a landing URL
    return rules.fill_ref(cast(tuple[str, str], state.landing), token)


def _is_unique(
    store: ClickStore,
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
    try:
        return not store.seen_recently(campaign_id, visitor_id, now - window)
    except DBAPIError:
        if not isinstance(store, BufferedStore):
            raise  # inline, the click itself needs the database
        log.warning("database unreachable: a returning visitor counted as unique")
        return True


def follow_link(
    store: ClickStore,
    *,
    link_id: int,
    token: str,
    visit: Visit,
    settings: LinkSettings,
    now: datetime,
    cache: LinkCache | None = None,
) -> Followed | Refused:
    """Check the link of a verified token, record the click and say where to go.

    ``link_id`` comes from ``verify_token(token, ...)``; never commits: the caller owns
    the transaction. ``cache``, if given, may answer for the link's row (see ``LinkCache``).
    """
    state = check_link(store, link_id, token, now, cache)
    if isinstance(state, Refused):
        return state
    row = state.row
    window = timedelta(days=row.attribution_window_days)
    visitor_id = (
        visit.visitor_id if visit.visitor_id and _VISITOR_SHAPE.match(visit.visitor_id) else None
    )
    attribution = tokens.read_attribution(
        visit.attribution, settings.signing_keys, int(window.total_seconds())
    )
    unique = _is_unique(
        store,
        campaign_id=row.campaign_id,
        visitor_id=visitor_id,
        attribution=attribution,
        window=window,
        now=now,
    )
    visitor_id = visitor_id or new_visitor_id()
    click_id = store.record(
        {
            "workspace_id": row.workspace_id,
            "campaign_id": row.campaign_id,
            "link_id": link_id,
            "visitor_id": visitor_id,
            "ip_hash": hash_ip(visit.ip, settings.ip_key),
            "user_agent": (visit.user_agent or None) and visit.user_agent[:MAX_USER_AGENT],
            "unique_visit": unique,
            "clicked_at": now,
        }
    )
    return Followed(
        location=landing_location(state, token),
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
    link_id = verify_token(token, settings)
    if isinstance(link_id, Refused):
        return link_id
    state = check_link(InlineStore(session.connection()), link_id, token, now)
    if isinstance(state, Refused):
        return state
    found = session.execute(
        select(Customer.first_name, Customer.erased_at, Campaign)
        .join(ReferralLink, ReferralLink.advocate_id == Customer.id)
        .join(Campaign, Campaign.id == ReferralLink.campaign_id)
        .where(ReferralLink.id == link_id)
    ).one()
    name = None if found.erased_at is not None else rules.first_name(found.first_name)
    # An advocate in an incentive experiment: the page offers their variant's rewards.
    campaign = invitation_offer(session, campaign=found.Campaign, link_id=link_id)
    return Invitation(token=token, inviter_first_name=name, campaign=campaign)
