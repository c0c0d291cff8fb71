"""Clicks written behind the redirect (CLICK_FLUSH_MS > 0, PostgreSQL): ClickRecorder.

An app of its own with its own engine, as in production, committing for real in a
workspace of its own that is deleted afterwards. The flush period is long (a minute) so a
test decides when the queue is written, except where the thread itself is under test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, select

from advocacy import create_app
from advocacy.extensions import db
from advocacy.links import tokens
from advocacy.links.models import Click
from advocacy.links.recorder import ClickRecorder
from advocacy.web import clickpath, views
from tests import factories

SIGNING_KEYS = ["test-signing-key-0123456789abcdef"]
A_MINUTE_MS = 60_000


def _app(database_url: str, **config: Any) -> Any:
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, **config})


@pytest.fixture(scope="module")
def buffered_app(app: Any, database_url: str) -> Iterator[Any]:
    if not database_url.startswith("postgresql"):
        pytest.skip("clicks are written behind on PostgreSQL only")
    own = _app(database_url, CLICK_FLUSH_MS=A_MINUTE_MS, LINK_CACHE_SECONDS=5)
    yield own
    with own.app_context():
        refresher = own.extensions.get(views.CACHE_REFRESHER)
        if refresher is not None:
            refresher.stop()
        recorder = own.extensions.get(views.CLICK_RECORDER)
        if recorder is not None:
            recorder.close()
        db.engine.dispose()


@pytest.fixture
def committed_link(buffered_app: Any) -> Iterator[dict[str, Any]]:
    with factories.committed_link(buffered_app, "recorder") as link:
        yield link
        with buffered_app.app_context():  # what is queued, before its workspace goes
            buffered_app.extensions[views.CLICK_RECORDER].flush()


@pytest.fixture
def recorder(buffered_app: Any, committed_link: Any) -> ClickRecorder:
    """The app's recorder, made by a first click (which is flushed away)."""
    assert buffered_app.test_client().get(f"/r/{committed_link['token']}").status_code == 302
    found: ClickRecorder = buffered_app.extensions[views.CLICK_RECORDER]
    found.flush()
    return found


def _click_ids(database_url: str, link_id: int) -> list[int]:
    other = create_engine(database_url)  # another connection: only committed rows
    try:
        with other.connect() as conn:
            return list(
                conn.scalars(select(Click.id).where(Click.link_id == link_id).order_by(Click.id))
            )
    finally:
        other.dispose()


def _attribution(response: Any) -> tokens.AttributionRef:
    jar = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        jar.load(header)
    ref = tokens.read_attribution(jar["adv_ref"].value, SIGNING_KEYS, 86400)
    assert ref is not None
    return ref


def test_the_redirect_does_not_wait_for_the_write(
    buffered_app, database_url, committed_link, recorder
):
    before = _click_ids(database_url, committed_link["id"])

    response = buffered_app.test_client().get(f"/r/{committed_link['token']}")

    assert response.status_code == 302
    assert _click_ids(database_url, committed_link["id"]) == before
    assert recorder.pending == 1


def test_the_flush_writes_the_click_the_cookie_names(
    buffered_app, database_url, committed_link, recorder
):
    response = buffered_app.test_client().get(f"/r/{committed_link['token']}")

    assert recorder.flush() == 1
    assert _attribution(response).click_id in _click_ids(database_url, committed_link["id"])


def test_the_thread_writes_clicks_without_being_asked(database_url, committed_link):
    quick = _app(database_url, CLICK_FLUSH_MS=20)
    try:
        response = quick.test_client().get(f"/r/{committed_link['token']}")
        click_id = _attribution(response).click_id
        deadline = time.monotonic() + 10
        while click_id not in _click_ids(database_url, committed_link["id"]):
            assert time.monotonic() < deadline, "the thread never wrote the click"
            time.sleep(0.02)
    finally:
        with quick.app_context():
            quick.extensions[views.CLICK_RECORDER].close()
            db.engine.dispose()


def test_a_click_on_a_cached_link_takes_no_connection(buffered_app, committed_link, recorder):
    path = f"/r/{committed_link['token']}"
    checkouts = []

    def count(*args: Any) -> None:
        checkouts.append(1)

    event.listen(recorder.engine, "checkout", count)
    try:
        statuses = [buffered_app.test_client().get(path).status_code for _ in range(3)]
    finally:
        event.remove(recorder.engine, "checkout", count)
    assert statuses == [302, 302, 302]
    assert checkouts == []


def test_a_forged_token_queues_nothing(buffered_app, committed_link, recorder):
    response = buffered_app.test_client().get(f"/r/{committed_link['token'][:-2]}zz")

    assert response.status_code == 404
    assert recorder.pending == 0


def test_a_full_queue_writes_the_click_inline(
    buffered_app, database_url, committed_link, recorder, monkeypatch
):
    monkeypatch.setattr(recorder, "max_pending", 0)

    response = buffered_app.test_client().get(f"/r/{committed_link['token']}")

    assert response.status_code == 302
    assert recorder.pending == 0
    assert _attribution(response).click_id in _click_ids(database_url, committed_link["id"])


def test_a_failed_write_keeps_its_clicks_for_the_next(
    buffered_app, database_url, committed_link, recorder, monkeypatch
):
    buffered_app.test_client().get(f"/r/{committed_link['token']}")
    buffered_app.test_client().get(f"/r/{committed_link['token']}")
    working = recorder.engine
    broken = create_engine(database_url.rsplit("/", 1)[0] + "/no_such_database")
    monkeypatch.setattr(recorder, "engine", broken)
    before = _click_ids(database_url, committed_link["id"])

    with pytest.raises(Exception, match="no_such_database"):
        recorder.flush()
    kept = recorder.pending
    monkeypatch.setattr(recorder, "engine", working)
    written = recorder.flush()

    broken.dispose()
    assert kept == 2
    assert written == 2
    assert len(_click_ids(database_url, committed_link["id"])) == len(before) + 2


def test_a_batch_written_twice_is_stored_once(buffered_app, database_url, committed_link, recorder):
    response = buffered_app.test_client().get(f"/r/{committed_link['token']}")
    queued = list(recorder._pending)
    recorder.flush()

    # As after a commit whose answer was lost: the same batch again.
    for row in queued:
        assert recorder.add(row)
    assert recorder.flush() == 1

    ids = _click_ids(database_url, committed_link["id"])
    assert ids.count(_attribution(response).click_id) == 1


def test_close_writes_what_is_queued(buffered_app, database_url, committed_link, recorder):
    response = buffered_app.test_client().get(f"/r/{committed_link['token']}")

    recorder.close()

    assert recorder.pending == 0
    assert _attribution(response).click_id in _click_ids(database_url, committed_link["id"])


def test_reserved_ids_never_meet_the_tables_own(database_url, committed_link, recorder):
    reserved = {recorder.reserve_id() for _ in range(5)}
    other = create_engine(database_url)
    try:
        with other.connect() as conn:
            next_own = conn.scalar(select(func.nextval("clicks_id_seq")))
    finally:
        other.dispose()

    assert len(reserved) == 5
    assert next_own not in reserved
    assert next_own > max(reserved) or next_own < min(reserved)


def test_a_forked_child_does_not_write_its_parents_queue(recorder, monkeypatch):
    assert recorder.add({"id": -1})
    monkeypatch.setattr(recorder, "_pid", -1)  # as seen from a child after fork

    recorder._check_fork()

    assert recorder.pending == 0


def test_sqlite_writes_clicks_inline(app, database_url):
    if database_url.startswith("postgresql"):
        pytest.skip("SQLite only")
    sqlite_app = _app(database_url, CLICK_FLUSH_MS=100)
    with sqlite_app.app_context():
        assert clickpath.recorder_for(sqlite_app, db.engine) is None
        with pytest.raises(ValueError, match="PostgreSQL"):
            ClickRecorder(db.engine, flush_seconds=0.1)
        db.engine.dispose()


@pytest.fixture
def reserving(buffered_app: Any, database_url: str) -> Iterator[tuple[ClickRecorder, list[float]]]:
    """A recorder of its own with a clock of its own, keeping 2 s of clicks in hand."""
    engine = create_engine(database_url)
    now = [0.0]
    recorder = ClickRecorder(
        engine, flush_seconds=60, id_block=10, reserve_seconds=2, clock=lambda: now[0]
    )
    yield recorder, now
    engine.dispose()


def test_ids_are_reserved_ahead_for_the_recent_rate(reserving):
    recorder, now = reserving
    ids = [recorder.reserve_id() for _ in range(100)]
    now[0] += 1.0  # 100 clicks in the last second

    recorder.top_up_ids()

    assert len(set(ids)) == 100
    assert recorder.reserved >= 200  # two seconds at 100 a second


def test_reserved_ids_need_no_database(reserving, database_url, monkeypatch):
    recorder, now = reserving
    for _ in range(100):
        recorder.reserve_id()
    now[0] += 1.0
    recorder.top_up_ids()
    in_hand = recorder.reserved
    broken = create_engine(database_url.rsplit("/", 1)[0] + "/no_such_database")
    monkeypatch.setattr(recorder, "engine", broken)

    ids = {recorder.reserve_id() for _ in range(in_hand)}

    broken.dispose()
    assert len(ids) == in_hand
    with pytest.raises(Exception, match="no_such_database"):
        recorder.reserve_id()  # the reserve used up: now the database is needed


def test_a_large_reserve_is_taken_in_steps_up_to_the_target(reserving, monkeypatch):
    """A sudden rate does not reserve its whole target in one burst of nextval() calls:
    MAX_TOP_UP at a time, one step a flush, until the target is in hand; then nothing
    until half of it is used."""
    recorder, now = reserving
    monkeypatch.setattr("advocacy.links.recorder.MAX_TOP_UP", 70)
    for _ in range(100):  # id_block (10) at a time: none left in hand
        recorder.reserve_id()
    now[0] += 1.0  # 100 a second: 200 to hold

    assert [recorder.top_up_ids() for _ in range(5)] == [70, 70, 60, 0, 0]
    assert recorder.reserved == 200
    for _ in range(100):
        recorder.reserve_id()
    assert recorder.top_up_ids() == 0  # half the target still in hand
    recorder.reserve_id()
    assert recorder.top_up_ids() == 70  # below half: the steps again
