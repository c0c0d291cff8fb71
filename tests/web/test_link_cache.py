"""LINK_CACHE_SECONDS: a link's row is read once per period, and changes wait for the period.

The test environment turns the cache off (LINK_CACHE_SECONDS=0), so every other test sees
its changes at once; here it is on, with a clock the test moves.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from advocacy.campaigns.models import Enrollment
from advocacy.links import tokens
from advocacy.links.cache import CacheRefresher, LinkCache
from advocacy.links.models import Click, ReferralLink
from advocacy.types import utcnow
from advocacy.web import clickpath, views

SIGNING_KEYS = ["test-signing-key-0123456789abcdef"]
PERIOD = 5


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(app: Any, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The cache on, for this test only, with a clock of its own."""
    clock = Clock()
    monkeypatch.setitem(app.config, "LINK_CACHE_SECONDS", PERIOD)
    monkeypatch.setitem(app.extensions, views.LINK_CACHE, LinkCache(PERIOD, clock=clock))
    return clock


def _statements(client: Any, path: str) -> tuple[int, list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(Engine, "before_cursor_execute", count)
    try:
        status = client.get(path).status_code
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    return status, [s for s in seen if s in ("SELECT", "INSERT", "UPDATE", "DELETE")]


def _clicks(session: Any) -> list[Any]:
    return list(session.scalars(select(Click).order_by(Click.id)))


def test_a_cached_link_is_read_once_per_period(app, clock, link):
    path = f"/r/{link['token']}"

    first = _statements(app.test_client(), path)
    second = _statements(app.test_client(), path)

    assert first == (302, ["SELECT", "INSERT"])
    assert second == (302, ["INSERT"])


def test_after_the_period_the_link_is_read_again(app, clock, link):
    path = f"/r/{link['token']}"
    _statements(app.test_client(), path)

    clock.advance(PERIOD)

    assert _statements(app.test_client(), path) == (302, ["SELECT", "INSERT"])


def test_every_click_is_recorded_from_the_cache(app, session, clock, link):
    for _ in range(3):
        app.test_client().get(f"/r/{link['token']}")

    assert [c.link_id for c in _clicks(session)] == [link["id"]] * 3


def test_revocation_takes_effect_within_one_period(api, app, clock, link):
    path = f"/r/{link['token']}"
    assert app.test_client().get(path).status_code == 302
    api.delete(f"/api/v1/links/{link['id']}")

    still_cached = app.test_client().get(path).status_code
    clock.advance(PERIOD)
    after_the_period = app.test_client().get(path).status_code

    assert (still_cached, after_the_period) == (302, 410)


def test_pausing_the_campaign_takes_effect_within_one_period(app, session, clock, campaign, link):
    path = f"/r/{link['token']}"
    app.test_client().get(path)
    campaign.status = "paused"
    session.commit()

    clock.advance(PERIOD)

    assert app.test_client().get(path).status_code == 410


def test_withdrawal_takes_effect_within_one_period(app, session, clock, link):
    path = f"/r/{link['token']}"
    app.test_client().get(path)
    enrollment = session.scalar(
        select(Enrollment).where(Enrollment.campaign_id == link["campaign_id"])
    )
    enrollment.withdrawn_at = utcnow()
    session.commit()

    clock.advance(PERIOD)

    assert app.test_client().get(path).status_code == 410


def test_expiry_is_decided_at_each_click_not_when_cached(app, session, clock, link, monkeypatch):
    path = f"/r/{link['token']}"
    expires_at = utcnow() + timedelta(minutes=1)
    session.get(ReferralLink, link["id"]).expires_at = expires_at
    session.commit()
    assert app.test_client().get(path).status_code == 302  # and the row is cached

    monkeypatch.setattr(clickpath, "utcnow", lambda: expires_at)

    assert app.test_client().get(path).status_code == 410


def test_a_renewed_token_is_followed_while_the_old_row_is_cached(
    app, session, clock, link, monkeypatch
):
    old = link["token"]
    app.test_client().get(f"/r/{old}")
    # Another authentic token of the same link (itsdangerous refuses future timestamps).
    signed_at = int(time.time()) - 5
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at)
        new = tokens.sign_link(link["id"], SIGNING_KEYS)
    session.get(ReferralLink, link["id"]).token = new
    session.commit()

    assert app.test_client().get(f"/r/{new}").status_code == 302
    assert app.test_client().get(f"/r/{old}").status_code == 404


def test_forged_tokens_never_reach_the_cache(app, clock, link):
    cache = app.extensions[views.LINK_CACHE]
    tampered = link["token"][:-2] + "zz"

    assert app.test_client().get(f"/r/{tampered}").status_code == 404
    assert len(cache) == 0


def test_the_cache_is_bounded():
    cache = LinkCache(PERIOD, max_entries=2, clock=Clock())
    for link_id in (1, 2, 3):
        cache.put(link_id, f"row {link_id}")

    assert len(cache) <= 2
    assert cache.get(3) == "row 3"


def test_an_entry_lives_one_period():
    clock = Clock()
    cache = LinkCache(PERIOD, clock=clock)
    cache.put(1, "row")

    clock.advance(PERIOD - 0.001)
    assert cache.get(1) == "row"
    clock.advance(0.001)
    assert cache.get(1) is None


# --- the refresher: busy links are read again before they expire ---------------------------


def test_only_links_followed_since_the_last_refresh_and_half_a_period_old_are_due():
    clock = Clock()
    cache = LinkCache(PERIOD, clock=clock)
    for link_id in (1, 2, 3):
        cache.put(link_id, f"row {link_id}")
    cache.get(1)
    cache.get(2)
    clock.advance(PERIOD / 2)
    cache.put(2, "row 2, read again just now")

    assert cache.due() == [1]
    assert cache.due() == []  # nothing followed since


def test_a_refresh_replaces_entries_and_drops_deleted_links():
    clock = Clock()
    cache = LinkCache(PERIOD, clock=clock)
    cache.put(1, "old 1")
    cache.put(2, "old 2")
    clock.advance(PERIOD - 1)

    cache.refresh([1, 2], {1: "new 1"}, read_at=clock())
    clock.advance(2)  # past the old entries' period, within the new ones'

    assert (cache.get(1), cache.get(2)) == ("new 1", None)
    assert len(cache) == 1


def test_a_busy_link_is_refreshed_in_one_read_and_never_expires():
    clock = Clock()
    cache = LinkCache(PERIOD, clock=clock)
    reads: list[list[int]] = []

    def read_states(ids: list[int]) -> dict[int, str]:
        reads.append(sorted(ids))
        return {i: f"fresh {i}" for i in ids}

    refresher = CacheRefresher(cache, read_states)
    cache.put(1, "row 1")
    cache.put(2, "row 2")
    for _ in range(4):  # two periods, clicked all along
        assert cache.get(1) is not None and cache.get(2) is not None
        clock.advance(PERIOD / 2)
        refresher.refresh_once()

    assert reads == [[1, 2]] * 4
    assert cache.get(1) == "fresh 1"


def test_a_link_nobody_follows_is_left_to_expire():
    clock = Clock()
    cache = LinkCache(PERIOD, clock=clock)
    refresher = CacheRefresher(cache, lambda ids: pytest.fail(f"read {ids}"))
    cache.put(1, "row 1")

    clock.advance(PERIOD / 2)
    assert refresher.refresh_once() == 0
    clock.advance(PERIOD / 2)
    assert cache.get(1) is None


def test_the_refresher_thread_runs_once_per_process():
    cache = LinkCache(3600)
    refresher = CacheRefresher(cache, lambda ids: {})

    refresher.ensure_running()
    first = refresher._thread
    refresher.ensure_running()
    second = refresher._thread
    refresher.stop()

    assert first is not None and second is first
    assert not first.is_alive()


def test_while_the_database_fails_an_entry_is_served_up_to_max_stale():
    clock = Clock()
    cache = LinkCache(5, max_stale=60, clock=clock)
    cache.put(1, "state")
    clock.advance(10)
    assert cache.get(1) is None  # expired, the database answering

    assert cache.database_failed(1) == "state"
    clock.advance(49)
    assert cache.get(1) == "state"
    clock.advance(1)
    assert cache.get(1) is None  # older than max_stale: never served


def test_a_failed_refresh_serves_last_known_states_until_one_succeeds():
    clock = Clock()
    cache = LinkCache(2, max_stale=60, clock=clock)
    down = [True]

    def read(link_ids):
        if down[0]:
            raise OSError("database away")
        return {1: "new"}

    refresher = CacheRefresher(cache, read)
    cache.put(1, "old")
    cache.get(1)
    clock.advance(1.5)
    with pytest.raises(OSError):
        refresher.refresh_once()
    clock.advance(5)
    assert cache.get(1) == "old"  # past its period, served while the database is away

    down[0] = False
    refresher.refresh_once()
    assert cache.get(1) == "new"
    clock.advance(3)
    assert cache.get(1) is None  # the database back: entries expire as usual


class _OneQuery:
    """An engine whose every query answers ``rows`` (read_link_states' reads)."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def connect(self) -> _OneQuery:
        return self

    def execution_options(self, **_: Any) -> _OneQuery:
        return self

    def __enter__(self) -> _OneQuery:
        return self

    def __exit__(self, *_: Any) -> None:
        return None

    def execute(self, *_: Any) -> list[Any]:
        return self.rows


def _link_row(**changes: Any) -> Any:
    from collections import namedtuple

    from advocacy.links.clicks import _LINK_COLUMNS

    Row = namedtuple("Row", [c.name for c in _LINK_COLUMNS.selected_columns])  # type: ignore[misc]
    values = {name: None for name in Row._fields}
    values.update(
        id=7,
        token="7.abc.def",
        landing_url="https://shop.example/welcome",
        allowed_domains=["shop.example"],
    )
    return Row(**{**values, **changes})


def test_a_refresh_keeps_the_state_of_an_unchanged_row_and_rebuilds_a_changed_one():
    from advocacy.links.clicks import read_link_states

    cache = LinkCache(PERIOD)
    (first,) = read_link_states(_OneQuery([_link_row()]), [7], cache).values()  # type: ignore[arg-type]
    cache.put(7, first)

    same = read_link_states(_OneQuery([_link_row()]), [7], cache)  # type: ignore[arg-type]
    moved = read_link_states(
        _OneQuery([_link_row(landing_url="https://shop.example/spring")]),  # type: ignore[arg-type]
        [7],
        cache,
    )

    assert same[7] is first
    assert moved[7] is not first and moved[7].landing == ("https://shop.example/spring?ref=", "")
