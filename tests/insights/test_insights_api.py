"""GET /api/v1/insights/alerts, /supporters and /detractors on seeded mentions.

February 2026 is a quiet month: every day, one positive (0.5) and one neutral mention.
On 1 March, dan (6) and eve (2) post 8 angry mentions (-0.8) and p1 two neutral ones, on x
(7) and reddit (3): a crisis. 2 March is ordinary. On 3 March, ann posts 9 happy ones (0.9).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from advocacy.advocates.models import AdvocateScore, RankingSnapshot
from advocacy.customers.models import Customer, Mention
from advocacy.graph.sentiment import GATE_NPS, GATE_SENTIMENT

ALERTS = "/api/v1/insights/alerts?from=2026-03-01&to=2026-03-03"


@pytest.fixture
def mentions(session: Any, workspace: Any) -> dict[str, int]:
    names = ("ann", "dan", "eve", "p1", "quiet")
    customers = {n: Customer(workspace_id=workspace.id, external_id=n) for n in names}
    session.add_all(customers.values())
    session.flush()
    ids = {n: c.id for n, c in customers.items()}
    rows: list[tuple[str, str, float, datetime]] = []
    day = datetime(2026, 2, 1, 12, tzinfo=UTC)
    while day.month == 2:
        rows += [("quiet", "x", 0.5, day), ("quiet", "x", 0.0, day + timedelta(hours=1))]
        day += timedelta(days=1)
    crisis = datetime(2026, 3, 1, 9, tzinfo=UTC)
    for i, (who, channel) in enumerate([("dan", "x")] * 6 + [("eve", "reddit")] * 2):
        rows.append((who, channel, -0.8, crisis + timedelta(minutes=i)))
    rows += [("p1", "x", 0.0, crisis), ("p1", "reddit", 0.0, crisis)]
    rows += [("quiet", "x", 0.5, datetime(2026, 3, 2, 12, tzinfo=UTC))] * 2
    rows += [("ann", "instagram", 0.9, datetime(2026, 3, 3, 10, i, tzinfo=UTC)) for i in range(9)]
    for n, (who, channel, sentiment, when) in enumerate(rows):
        session.add(
            Mention(
                workspace_id=workspace.id,
                external_id=f"m{n}",
                channel=channel,
                customer_id=ids[who],
                text=f"mention {n}",
                sentiment=sentiment,
                sentiment_source="provided",
                occurred_at=when,
            )
        )
    session.commit()
    return ids


def test_days_carry_volume_and_baseline(api: Any, mentions: Any) -> None:
    body = api.get(ALERTS).json
    day1, day2, day3 = body["days"]
    assert (day1["volume"], day1["negative"], day1["negative_share"]) == (10, 8, 0.8)
    assert (day1["baseline_volume"], day1["baseline_negative_share"]) == (2.0, 0.0)
    assert [d["alert"] for d in body["days"]] == ["crisis", None, "praise_surge"]


def test_a_crisis_names_its_channels_and_customers(api: Any, mentions: Any) -> None:
    crisis = api.get(ALERTS).json["alerts"][0]
    assert (crisis["day"], crisis["direction"], crisis["volume_z"]) == ("2026-03-01", "crisis", 8.0)
    assert crisis["top_channels"] == [
        {"channel": "x", "mentions": 7},
        {"channel": "reddit", "mentions": 3},
    ]
    assert [(c["customer"], c["mentions"]) for c in crisis["customers"]] == [("dan", 6), ("eve", 2)]


def test_a_praise_surge_names_its_supporters(api: Any, mentions: Any) -> None:
    surge = api.get(ALERTS).json["alerts"][1]
    assert surge["direction"] == "praise_surge"
    assert [(c["customer"], c["mentions"]) for c in surge["customers"]] == [("ann", 9)]


def test_supporters_by_net_positive_sentiment(api: Any, mentions: Any) -> None:
    body = api.get("/api/v1/insights/supporters?from=2026-03-01&to=2026-03-03").json
    assert [i["customer"] for i in body["items"]] == ["ann", "quiet"]
    ann = body["items"][0]
    assert (ann["mentions"], ann["positive"], ann["net_sentiment"]) == (9, 9, pytest.approx(8.1))
    assert len(ann["latest_mentions"]) == 3
    assert ann["latest_mentions"][0]["occurred_at"] == "2026-03-03T10:08:00+00:00"


def test_detractors_link_to_why_the_ranking_gates_them(
    api: Any, session: Any, workspace: Any, mentions: Any
) -> None:
    snapshot = RankingSnapshot(
        workspace_id=workspace.id,
        version=1,
        params={},
        customers=1,
        eligible=0,
        connections=0,
        duration_ms=1,
        timings={},
    )
    session.add(snapshot)
    session.flush()
    session.add(_score(snapshot.id, mentions["dan"], GATE_NPS | GATE_SENTIMENT))
    session.commit()
    body = api.get("/api/v1/insights/detractors?from=2026-03-01&to=2026-03-03").json
    dan, eve = body["items"]
    assert (dan["customer"], dan["negative"], dan["net_sentiment"]) == (
        "dan",
        6,
        pytest.approx(-4.8),
    )
    assert dan["ranking"]["eligible"] is False
    assert len(dan["ranking"]["gates"]) == 2
    assert (eve["customer"], eve["ranking"]) == ("eve", None)


def _score(snapshot_id: int, customer_id: int, gate: int) -> AdvocateScore:
    zeros: dict[str, Any] = {
        f: 0.0
        for f in (
            "engagement",
            "sentiment",
            "influence",
            "reach",
            "track_record",
            "score_awareness",
            "score_consideration",
            "score_conversion",
        )
    }
    return AdvocateScore(
        snapshot_id=snapshot_id,
        customer_id=customer_id,
        rank_awareness=1,
        rank_consideration=1,
        rank_conversion=1,
        eligible=False,
        gate=gate,
        facts=np.zeros(1),
        **zeros,
    )


def test_other_workspaces_see_nothing(other_api: Any, mentions: Any) -> None:
    body = other_api.get(ALERTS).json
    assert body["alerts"] == [] and all(d["volume"] == 0 for d in body["days"])
    assert other_api.get("/api/v1/insights/detractors?from=2026-03-01&to=2026-03-03").json == {
        "items": []
    }


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-03-03&to=2026-03-01",
        "from=2026-03-01&to=2026-03-03&tz=Moon/Base",
        "to=2026-03-01",
    ],
)
def test_bad_parameters_are_422(api: Any, query: str) -> None:
    assert api.get(f"/api/v1/insights/alerts?{query}").status_code == 422
