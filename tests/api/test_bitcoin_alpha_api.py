"""The real signed trust network (Bitcoin Alpha) loaded through the public API.

Ratings become connections: the rater is the source, the rated account the target,
|rating| interactions, and rating / 10 as the tone (trust or distrust). Popular accounts
with many distrust ratings must not top the influence ranking; trusted ones must.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "bitcoin_alpha.csv"


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
def trust_network(api):
    with DATA.open() as handle:
        ratings = [(int(s), int(t), int(r)) for s, t, r in csv.reader(handle)]
    accounts = sorted({a for s, t, _ in ratings for a in (s, t)})
    customers = _csv(["external_id"], [[f"acct-{a}"] for a in accounts])
    connections = _csv(
        ["source", "target", "channel", "replies", "sentiment"],
        [[f"acct-{s}", f"acct-{t}", "otc", abs(r), r / 10] for s, t, r in ratings],
    )
    for kind, body in (("customers", customers), ("connections", connections)):
        response = api.post(f"/api/v1/imports?kind={kind}", data=body, content_type="text/csv")
        assert response.status_code == 200, response.json
        assert response.json["rejected"] == 0, response.json["errors"][:3]
    assert api.post("/api/v1/advocates/rank").status_code == 201
    received = Counter(t for _, t, _ in ratings)
    negative = Counter(t for _, t, r in ratings if r < 0)
    share = {a: negative[a] / received[a] for a in received}
    return received, share


def _ranked(api, weights: str, limit: int = 100) -> list[dict]:
    response = api.get("/api/v1/advocates", query_string={"weights": weights, "limit": limit})
    assert response.status_code == 200, response.json
    return response.json["items"]


def _account(item: dict) -> int:
    return int(item["external_id"].removeprefix("acct-"))


def test_trust_outranks_popularity_on_real_data(api, trust_network):
    """One ranking, both sides of the claim (the import and ranking dominate the time)."""
    received, share = trust_network
    most_rated = [a for a, _ in received.most_common(50)]
    contested = {a for a in most_rated if share[a] > 0.2}
    assert len(contested) >= 4  # the premise of the data set
    ranked = [_account(item) for item in _ranked(api, "influence:1", limit=50)]
    assert not set(ranked) & contested, "popular but distrusted accounts made the top 50"
    top10 = ranked[:10]
    assert all(share[a] < 0.064 for a in top10), [(a, share[a]) for a in top10]
    assert all(received[a] >= 100 for a in top10)
    distrusted = next(a for a in sorted(received) if received[a] >= 50 and share[a] > 0.9)
    body = api.get(
        f"/api/v1/advocates/acct-{distrusted}", query_string={"weights": "influence:1"}
    ).json
    assert body["components"]["influence"] == 0.0
    assert any(reason.startswith("distrusted by") for reason in body["reasons"])
