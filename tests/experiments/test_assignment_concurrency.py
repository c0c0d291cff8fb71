"""Recorded once under real concurrency: threads against a live server, committed data.

On PostgreSQL the requests really run in parallel (INSERT ... ON CONFLICT DO NOTHING, the
share lock on the experiment); SQLite serialises writers, so there the same assertions
check the serial path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from advocacy.campaigns.models import Enrollment
from advocacy.experiments.models import ExperimentAssignment
from advocacy.types import utcnow
from tests.experiments.helpers import ONE_WAY, TWO_WAY, definition, experiment_url, variant_of
from tests.rewards.live import Live, live_program, race

THREADS = 16


def _count(database_url: str, model: Any, workspace_id: int) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        value = conn.execute(
            select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
        ).scalar_one()
    engine.dispose()
    return int(value)


def _campaign_id(live: Live) -> int:
    status, _, body = live.call("GET", "/api/v1/campaigns")
    assert status == 200, body
    return int(body["items"][0]["id"])


def _define(live: Live, unit: str) -> int:
    campaign_id = _campaign_id(live)
    status, _, body = live.call("PUT", experiment_url(campaign_id), definition(unit=unit))
    assert status == 200, body
    return campaign_id


@pytest.fixture
def live(app: Any, database_url: str) -> Iterator[Live]:
    with live_program(database_url, hold_days=0) as program:
        yield program


def test_concurrent_conversions_of_one_invitee_assign_them_once(
    live: Live, database_url: str
) -> None:
    campaign_id = _define(live, "invitee")

    def buy(i: int) -> tuple[int, dict[str, str], Any]:
        body = {
            "event": "purchase",
            "event_id": f"order-{i}",
            "invitee": {"external_id": "zoe", "email": "zoe@example.net"},
            "amount": 5000,
            "currency": "EUR",
            "occurred_at": utcnow().isoformat(),
            "ref": live.token,
        }
        return live.call("POST", "/api/v1/conversions", body, {"Idempotency-Key": f"k{i}"})

    results = race(THREADS, buy)
    assert sorted(status for status, _, _ in results) == [201] * THREADS
    assert _count(database_url, ExperimentAssignment, live.workspace_id) == 1
    # Every conversion, rewarded or rejected (zoe is rewarded once), took zoe's one variant.
    variant = ONE_WAY if variant_of(campaign_id, "zoe") == "one_way" else TWO_WAY
    expected = {
        (role, reward["amount"])
        for role in ("inviter", "invitee")
        if (reward := variant[f"{role}_reward"]) is not None
    }
    booked = {(r["role"], r["amount"]) for _, _, body in results for r in body["rewards"]}
    assert booked == expected


def test_concurrent_links_of_an_advocate_enrolled_before_assign_them_once(
    live: Live, database_url: str
) -> None:
    campaign_id = _define(live, "advocate")
    results = race(
        THREADS,
        lambda i: live.call(
            "POST",
            f"/api/v1/campaigns/{campaign_id}/links",
            {"advocate": "ann", "channel": f"channel-{i}"},
        ),
    )
    assert sorted(status for status, _, _ in results) == [201] * THREADS
    assert _count(database_url, ExperimentAssignment, live.workspace_id) == 1


def test_concurrent_enrollments_of_one_advocate_assign_them_once(
    live: Live, database_url: str
) -> None:
    campaign_id = _define(live, "advocate")
    status, _, body = live.call(
        "PUT", "/api/v1/customers/bea", {"email": "bea@example.com", "consent": {"email": True}}
    )
    assert status == 200, body
    results = race(
        THREADS,
        lambda _: live.call(
            "POST", f"/api/v1/campaigns/{campaign_id}/enrollments", {"customers": ["bea"]}
        ),
    )
    statuses = sorted(body["results"][0]["status"] for _, _, body in results)
    assert statuses == ["already_enrolled"] * (THREADS - 1) + ["enrolled"]
    assert _count(database_url, Enrollment, live.workspace_id) == 2  # ann and bea
    assert _count(database_url, ExperimentAssignment, live.workspace_id) == 1
