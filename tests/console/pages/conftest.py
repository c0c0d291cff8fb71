"""Workspaces for the Overview, Advocates and Selection page tests: the demo (300
customers), and a small ranked workspace built through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from advocacy.demo.command import demo_campaign, find_workspace
from tests.factories import ApiClient, allow_domains, customer, make_campaign

DEMO = ["--customers", "300", "--seed", "3", "--name", "Console demo"]


@pytest.fixture
def demo(app: Flask, session: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """A ranked 300-customer demo workspace with its campaigns; the workspace."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    result = app.test_cli_runner().invoke(args=["demo", *DEMO])
    assert result.exit_code == 0, (result.output, result.exception)
    workspace = find_workspace(session, "Console demo")
    assert workspace is not None
    return workspace


@pytest.fixture
def demo_campaign_id(demo: Any, session: Any) -> int:
    campaign = demo_campaign(session, demo.id)
    assert campaign is not None
    return int(campaign.id)


NOW = datetime.now(UTC)
FRIENDS = [f"friend-{i}" for i in range(8)]


def _ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def _post(api: ApiClient, url: str, items: list[dict[str, Any]]) -> None:
    response = api.post(url, json={"items": items})
    assert response.status_code == 200, response.json
    assert response.json["summary"]["rejected"] == 0, response.json


@pytest.fixture
def ranked(api: ApiClient, workspace: Any) -> Any:
    """The console fixture's workspace, ranked: a group of friends who like the brand and
    a loud detractor with the largest audience. Everyone consents to email."""
    people = {name: 30 + i for i, name in enumerate(FRIENDS)} | {"loud": 5000}
    for external_id, followers in people.items():
        body = customer(external_id, followers=followers, consent={"email": True})
        assert api.put(f"/api/v1/customers/{external_id}", json=body).status_code == 200
    _post(
        api,
        "/api/v1/connections",
        [
            {
                "source": a,
                "target": b,
                "channel": "whatsapp",
                "replies": 2 + (i + j) % 5,
                "messages": 3,
                "last_interaction_at": _ago(5),
            }
            for i, a in enumerate(FRIENDS)
            for j, b in enumerate(FRIENDS)
            if a != b
        ]
        + [{"source": f, "target": "loud", "channel": "x", "follows": True} for f in FRIENDS],
    )
    events = [{"customer": "loud", "kind": "nps", "value": 1, "occurred_at": _ago(3)}]
    for i, friend in enumerate(FRIENDS):
        events.append(
            {"customer": friend, "kind": "nps", "value": 9 + i % 2, "occurred_at": _ago(10 + i)}
        )
        events += [
            {
                "customer": friend,
                "kind": "purchase",
                "amount": 2000 + 500 * i,
                "currency": "EUR",
                "occurred_at": _ago(20 + 7 * n),
            }
            for n in range(1 + i % 3)
        ]
    _post(api, "/api/v1/events", events)
    assert api.post("/api/v1/advocates/rank").status_code == 201
    return workspace


@pytest.fixture
def campaign(session: Any, ranked: Any) -> Any:
    allow_domains(session, ranked.id, "shop.example")
    return make_campaign(session, ranked.id)
