"""A simulated brand through the public API, as the hidden checks run it.

Customers (with follower counts), CRM events, mentions with sentiment and connections with
interaction counts go in through ``POST /api/v1/imports``; then ``POST
/api/v1/advocates/rank``, ``GET /api/v1/advocates?objective=conversion&eligible=true&limit=50``
and ``POST /api/v1/advocates/selection`` with each strategy and ``k``. The app runs in this
process (Flask's test client) on a scratch SQLite database; times are shifted so the
simulation's "now" is the real now the ranking job uses.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from advocacy.graph.inputs import EVENT_KIND_CODES, RankingInput

KIND_NAMES = {code: name for name, code in EVENT_KIND_CODES.items()}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(float(epoch), UTC).isoformat()


def _ndjson(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def _customers(inp: RankingInput) -> list[dict[str, Any]]:
    return [
        {"external_id": f"c{i}", "followers": int(f), "consent": {"email": True}}
        for i, f in enumerate(inp.followers.tolist())
    ]


def _events(inp: RankingInput, shift: float) -> list[dict[str, Any]]:
    rows = []
    for c, k, v, a, t in zip(
        inp.ev_customer.tolist(),
        inp.ev_kind.tolist(),
        inp.ev_value.tolist(),
        inp.ev_amount.tolist(),
        inp.ev_time.tolist(),
        strict=True,
    ):
        row: dict[str, Any] = {
            "customer": f"c{c}",
            "kind": KIND_NAMES[k],
            "occurred_at": _iso(t + shift),
        }
        if KIND_NAMES[k] == "purchase":
            row.update(amount=int(a), currency="EUR")
        elif v == v:  # not NaN
            row["value"] = int(v)
        rows.append(row)
    return rows


def _mentions(inp: RankingInput, shift: float) -> list[dict[str, Any]]:
    return [
        {
            "external_id": f"m{j}",
            "channel": "x",
            "customer": f"c{c}",
            "sentiment": round(float(s), 4),
            "occurred_at": _iso(t + shift),
        }
        for j, (c, s, t) in enumerate(
            zip(inp.m_customer.tolist(), inp.m_sentiment.tolist(), inp.m_time.tolist(), strict=True)
        )
    ]


def _connections(inp: RankingInput, shift: float) -> list[dict[str, Any]]:
    """One row per (source, target): the simulation may draw a pair twice; counts add up."""
    pairs: dict[tuple[int, int], dict[str, Any]] = {}
    for s, t, r, lk, sh, m, f, last in zip(
        inp.c_source.tolist(),
        inp.c_target.tolist(),
        inp.c_replies.tolist(),
        inp.c_likes.tolist(),
        inp.c_shares.tolist(),
        inp.c_messages.tolist(),
        inp.c_follows.tolist(),
        inp.c_last_time.tolist(),
        strict=True,
    ):
        row = pairs.setdefault(
            (s, t),
            {
                "source": f"c{s}",
                "target": f"c{t}",
                "channel": "social",
                "replies": 0,
                "likes": 0,
                "shares": 0,
                "messages": 0,
                "follows": False,
                "last": -np.inf,
            },
        )
        row["replies"] += r
        row["likes"] += lk
        row["shares"] += sh
        row["messages"] += m
        row["follows"] = row["follows"] or bool(f)
        if last == last:
            row["last"] = max(row["last"], last)
    out = []
    for row in pairs.values():
        last = row.pop("last")
        if np.isfinite(last):
            row["last_interaction_at"] = _iso(last + shift)
        out.append(row)
    return out


def through_api(inp: RankingInput, k: int) -> dict[str, np.ndarray]:
    """Rank and select through the HTTP API; the chosen customers' indices per strategy."""
    import flask_migrate

    from advocacy import create_app
    from advocacy.extensions import db
    from advocacy.workspaces import service

    shift = time.time() - inp.now
    # A throw-away app on a scratch SQLite file: development settings (no SECRET_KEY
    # needed), unless the caller chose otherwise.
    os.environ.setdefault("ADVOCACY_ENV", "development")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'quality.sqlite3'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
        with app.app_context():
            flask_migrate.upgrade()
            workspace = service.create_workspace(db.session, name="Quality")
            key = service.create_api_key(
                db.session, workspace_id=workspace.id, name="bench", scopes=["admin"]
            ).secret
            db.session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}"}
        started = time.perf_counter()
        for kind, rows in (
            ("customers", _customers(inp)),
            ("events", _events(inp, shift)),
            ("mentions", _mentions(inp, shift)),
            ("connections", _connections(inp, shift)),
        ):
            response = client.post(
                f"/api/v1/imports?kind={kind}",
                data=_ndjson(rows),
                headers={**headers, "Content-Type": "application/x-ndjson"},
            )
            assert response.status_code == 200, response.json
            assert response.json["rejected"] == 0, (kind, response.json["errors"][:3])
        imported = time.perf_counter()
        assert client.post("/api/v1/advocates/rank", headers=headers).status_code == 201
        ranked = client.get(
            "/api/v1/advocates",
            headers=headers,
            query_string={"objective": "conversion", "eligible": "true", "limit": k},
        ).json["items"]
        picks = {"ranked list": _indices(item["external_id"] for item in ranked)}
        for strategy in ("top", "coverage", "spread"):
            body = {"k": k, "strategy": strategy, "objective": "conversion"}
            response = client.post("/api/v1/advocates/selection", headers=headers, json=body)
            assert response.status_code == 200, response.json
            picks[strategy] = _indices(a["external_id"] for a in response.json["advocates"])
        print(
            f"API path: import {imported - started:.1f}s, rank, list and three selections "
            f"{time.perf_counter() - imported:.1f}s"
        )
        with app.app_context():
            db.engine.dispose()
    return picks


def _indices(external_ids: Any) -> np.ndarray:
    return np.array([int(e.removeprefix("c")) for e in external_ids], dtype=np.int64)
