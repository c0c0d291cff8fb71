"""Reasons read like a person wrote them, and come from the facts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from advocacy.graph.components import compute_components
from advocacy.graph.inputs import DAY
from advocacy.graph.reasons import explain
from advocacy.graph.scoring import OBJECTIVE_WEIGHTS
from advocacy.graph.timeutil import humanize_age

if TYPE_CHECKING:
    from conftest import Workspace


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "just now"),
        (-30, "just now"),
        (60, "a minute ago"),
        (3 * 3600, "3 hours ago"),
        (1.5 * DAY, "yesterday"),
        (4 * DAY, "4 days ago"),
        (7 * DAY, "a week ago"),
        (21 * DAY, "3 weeks ago"),
        (65 * DAY, "2 months ago"),
        (800 * DAY, "2 years ago"),
    ],
)
def test_humanize_age(seconds: float, text: str) -> None:
    assert humanize_age(seconds) == text


def promoter_and_detractor(workspace: type[Workspace]) -> Workspace:
    ws = workspace(60)
    promoter, detractor = 0, 1
    ws.event(promoter, "nps", 21, value=10).purchases(promoter, 3, days_ago=10)
    for day in range(32):
        ws.mention(promoter, 0.8, days_ago=2 * day if day < 24 else 200 + day)
    for friend in range(10, 24):
        ws.connect(friend, promoter, replies=3, days_ago=4)
    ws.followers[detractor] = 5000
    for day in (3, 12, 25):
        ws.mention(detractor, -0.8, days_ago=day)
    for follower in range(24, 60):
        ws.connect(follower, detractor, follows=True)
        ws.purchases(follower, 1, days_ago=30)
    return ws


def test_promoter_reasons_name_the_evidence(workspace: type[Workspace]) -> None:
    components = compute_components(promoter_and_detractor(workspace).build())
    reasons = explain(components, 0, OBJECTIVE_WEIGHTS["consideration"])
    assert 1 <= len(reasons) <= 4
    assert "NPS 10 3 weeks ago" in reasons
    assert "14 friends reply to their posts" in reasons
    assert "32 positive mentions, mostly recent" in reasons
    assert not any(reason.startswith("gated") for reason in reasons)


def test_gated_customer_gets_the_gate_reason_first(workspace: type[Workspace]) -> None:
    components = compute_components(promoter_and_detractor(workspace).build())
    reasons = explain(components, 1, OBJECTIVE_WEIGHTS["awareness"])
    assert reasons[0] == "gated: 3 negative mentions in the last month"
    assert "5,000 followers, but nobody interacts with them" in reasons


def test_reasons_respect_max_and_grammar(workspace: type[Workspace]) -> None:
    ws = workspace(3)
    ws.connect(1, 0, replies=2, days_ago=1).connect(2, 0, follows=True)
    ws.purchases(0, 1, days_ago=2)
    components = compute_components(ws.build())
    reasons = explain(components, 0, OBJECTIVE_WEIGHTS["awareness"], max_reasons=2)
    assert len(reasons) == 2
    assert all("1 friends" not in r and "1 purchases" not in r for r in reasons)
