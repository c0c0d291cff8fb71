"""Attribution while clicks are written behind the redirect (CLICK_FLUSH_MS, PostgreSQL).

The click's row reaches the table up to CLICK_FLUSH_MS after its redirect (longer while
the database is slow or away); a conversion reported in that moment is attributed from the
attribution cookie, which names the click, exactly as it is once the row is written.
Here the recorder writes only when the test says so (a flush period of a minute).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from advocacy.links.models import Click
from advocacy.types import utcnow
from advocacy.web import views
from tests.rewards.live import Live, count_rows, live_program

A_MINUTE_MS = 60_000


def _served(database_url: str, flush_ms: int) -> Iterator[Live]:
    if not database_url.startswith("postgresql"):
        pytest.skip("clicks are written behind on PostgreSQL only")
    config = {"CLICK_FLUSH_MS": flush_ms, "LINK_CACHE_SECONDS": 5}
    with live_program(database_url, config, hold_days=0) as live:
        yield live


@pytest.fixture
def buffered(app: Any, database_url: str) -> Iterator[Live]:
    yield from _served(database_url, A_MINUTE_MS)


def _click(live: Live) -> dict[str, str]:
    client = live.app.test_client()
    assert client.get(f"/r/{live.token}").status_code == 302
    return {name: str(client.get_cookie(name).value) for name in ("adv_ref", "adv_vid")}  # type: ignore[union-attr]


def _stored_clicks(database_url: str, workspace_id: int) -> int:
    return count_rows(database_url, Click, workspace_id)


def _purchase(live: Live, invitee: str, **evidence: Any) -> dict[str, Any]:
    body = {
        "event": "purchase",
        "event_id": f"order-{invitee}",
        "invitee": {"external_id": invitee, "email": f"{invitee}@example.net"},
        "amount": 5000,
        "currency": "EUR",
        "occurred_at": utcnow().isoformat(),
        **evidence,
    }
    status, _, answer = live.call(
        "POST", "/api/v1/conversions", body, {"Idempotency-Key": uuid.uuid4().hex}
    )
    assert status == 201, answer
    return dict(answer)


def _attribution(answer: dict[str, Any]) -> dict[str, Any]:
    """What the conversion was attributed to and what it earned (times apart)."""
    assert answer["attributed"] is True, answer
    referral = {k: v for k, v in answer["referral"].items() if k not in ("id", "touched_at")}
    rewards = sorted(
        (r["role"], r["kind"], r["amount"], r["currency"], r["state"]) for r in answer["rewards"]
    )
    return {"referral": referral, "rewards": rewards}


def _touched(answer: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(answer["referral"]["touched_at"])


def _flush(live: Live) -> None:
    with live.app.app_context():
        live.app.extensions[views.CLICK_RECORDER].flush()


@pytest.mark.parametrize(
    "evidence",
    [
        pytest.param(("ref", "attribution", "visitor_id"), id="ref-cookie-visitor"),
        pytest.param(("ref", "attribution"), id="ref-cookie"),
        pytest.param(("attribution",), id="cookie"),
    ],
)
def test_a_conversion_right_after_its_click_is_attributed_as_a_second_later(
    buffered, database_url, evidence
):
    stored = _stored_clicks(database_url, buffered.workspace_id)
    cookies = _click(buffered)
    sent = {
        "ref": buffered.token,
        "attribution": cookies["adv_ref"],
        "visitor_id": cookies["adv_vid"],
    }
    sent = {name: sent[name] for name in evidence}
    assert _stored_clicks(database_url, buffered.workspace_id) == stored  # still queued

    early = _purchase(buffered, "zoe", **sent)
    _flush(buffered)
    assert _stored_clicks(database_url, buffered.workspace_id) > stored
    later = _purchase(buffered, "yan", **sent)

    assert _attribution(early) == _attribution(later)
    assert early["referral"]["click_id"] is not None
    # The cookie knows its click's time to the second; the row to the microsecond.
    assert abs((_touched(early) - _touched(later)).total_seconds()) < 1
    assert _touched(early) <= _touched(later)


# The recorder's own thread writes every half second; a ref waits for its click up to
# two flushes and a quarter of a second (CLICK_WAIT_MS unset).
HALF_A_SECOND_MS = 500


@pytest.fixture
def flushing(app: Any, database_url: str) -> Iterator[Live]:
    yield from _served(database_url, HALF_A_SECOND_MS)


def _new_link(live: Live) -> str:
    """A token of a link of Ann's with no click yet (another channel)."""
    status, _, campaigns = live.call("GET", "/api/v1/campaigns")
    assert status == 200, campaigns
    path = f"/api/v1/campaigns/{campaigns['items'][0]['id']}/links"
    status, _, link = live.call("POST", path, {"advocate": "ann", "channel": "sms"})
    assert status == 201, link
    return str(link["token"])


@pytest.mark.parametrize(
    "evidence",
    [
        pytest.param(("ref",), id="ref"),
        pytest.param(("ref", "visitor_id"), id="ref-visitor"),
    ],
)
def test_a_ref_without_the_cookie_right_after_its_click_waits_for_it(
    flushing, database_url, evidence
):
    # A new link's first click, its ref (and the visitor id) posted at once, without the
    # cookie: the click's row is still queued (written within half a second).
    flushing.token = _new_link(flushing)
    cookies = _click(flushing)
    sent = {"ref": flushing.token, "visitor_id": cookies["adv_vid"]}
    sent = {name: sent[name] for name in evidence}

    early = _purchase(flushing, "zoe", **sent)
    time.sleep(2 * HALF_A_SECOND_MS / 1000)
    later = _purchase(flushing, "yan", **sent)

    assert _attribution(early) == _attribution(later)
    assert early["referral"]["touched_at"] == later["referral"]["touched_at"]
    assert early["referral"]["click_id"] == later["referral"]["click_id"]
