"""Exactly once under real concurrency: threads against a live server, committed data.

On PostgreSQL the duplicates really run in parallel (ON CONFLICT, row locks); SQLite
serialises writers, so there the same assertions check the serial path.
"""

from __future__ import annotations

from typing import Any

import pytest

from advocacy.rewards.models import Conversion, LedgerTransaction, Reward
from tests.rewards.live import count_rows as _count
from tests.rewards.live import live_program, race
from tests.rewards.live import purchase as _purchase


@pytest.fixture
def live(app, database_url):
    with live_program(database_url, hold_days=0) as program:
        yield program


def test_100_identical_posts_make_one_conversion_and_two_rewards(live, database_url):
    body = _purchase(live)
    results = race(
        100, lambda _: live.call("POST", "/api/v1/conversions", body, {"Idempotency-Key": "same"})
    )
    originals = [r for r in results if "Idempotent-Replayed" not in r[1]]
    assert len(originals) == 1, [r[0] for r in results]
    status, _, original = originals[0]
    assert status == 201
    assert all((s, b) == (status, original) for s, _, b in results)
    assert _count(database_url, Conversion, live.workspace_id) == 1
    assert _count(database_url, Reward, live.workspace_id) == 2


def test_100_posts_of_one_event_id_under_different_keys_make_two_rewards(live, database_url):
    body = _purchase(live)
    results = race(
        100, lambda i: live.call("POST", "/api/v1/conversions", body, {"Idempotency-Key": f"k{i}"})
    )
    statuses = sorted(r[0] for r in results)
    assert statuses == [200] * 99 + [201], statuses
    rewards = {tuple(sorted(r["id"] for r in b["rewards"])) for _, _, b in results}
    assert len(rewards) == 1
    assert _count(database_url, Conversion, live.workspace_id) == 1
    assert _count(database_url, Reward, live.workspace_id) == 2


def test_50_concurrent_refunds_reverse_once(live, database_url):
    status, _, body = live.call(
        "POST", "/api/v1/conversions", _purchase(live), {"Idempotency-Key": "buy"}
    )
    assert status == 201 and {r["state"] for r in body["rewards"]} == {"approved"}
    results = race(
        50,
        lambda i: live.call(
            "POST", "/api/v1/conversions/order-1/refund", {}, {"Idempotency-Key": f"r{i}"}
        ),
    )
    assert sorted(r[0] for r in results) == [200] * 50
    assert sum(1 for _, _, b in results if b["refund"] is not None) == 1
    reversals = _count(
        database_url, LedgerTransaction, live.workspace_id, LedgerTransaction.kind == "reversal"
    )
    assert reversals == 2  # one per award: the inviter's and the invitee's
    assert _count(database_url, Reward, live.workspace_id, Reward.state == "reversed") == 2


@pytest.fixture
def capped(app, database_url):
    with live_program(database_url, hold_days=0, per_advocate_cap=1) as program:
        yield program


def test_20_concurrent_purchases_through_one_advocate_with_a_cap_of_one_reward_once(
    capped, database_url
):
    """The cap is counted under the advocate's row lock: of 20 invitees buying at once
    through Ann's link, one referral is rewarded and the others are rejected."""

    def buy(i: int) -> Any:
        body = {
            **_purchase(capped, f"order-{i}"),
            "invitee": {"external_id": f"buyer{i}", "email": f"buyer{i}@example.net"},
        }
        return capped.call("POST", "/api/v1/conversions", body, {"Idempotency-Key": f"k{i}"})

    results = race(20, buy)
    assert sorted(r[0] for r in results) == [201] * 20
    rewarded = [b for _, _, b in results if {r["state"] for r in b["rewards"]} == {"approved"}]
    assert len(rewarded) == 1, [b["referral"]["state"] for _, _, b in results]
    assert _count(database_url, Reward, capped.workspace_id, Reward.state == "approved") == 2
    assert _count(database_url, LedgerTransaction, capped.workspace_id) == 2
