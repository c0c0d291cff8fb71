"""A terse builder for small ranking workspaces: planted cases read like the story they tell."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from advocacy.graph.inputs import DAY, EVENT_KIND_CODES, RankingInput

NOW = 1_750_000_000.0  # a fixed "now" keeps every test deterministic


class Workspace:
    def __init__(self, n: int, now: float = NOW) -> None:
        self.n = n
        self.now = now
        self.followers = np.full(n, -1, dtype=np.int64)
        self.tr = {"tr_invites": [0] * n, "tr_clicks": [0] * n, "tr_conversions": [0] * n}
        self.events: list[tuple[int, int, float, float, float]] = []
        self.mentions: list[tuple[int, float, float]] = []
        self.connections: list[dict[str, Any]] = []

    def ago(self, days: float) -> float:
        return self.now - days * DAY

    def event(
        self,
        customer: int,
        kind: str,
        days_ago: float,
        value: float = math.nan,
        amount: float = math.nan,
    ) -> Workspace:
        self.events.append((customer, EVENT_KIND_CODES[kind], value, amount, self.ago(days_ago)))
        return self

    def purchases(
        self, customer: int, count: int, days_ago: float, amount: float = 5000
    ) -> Workspace:
        for j in range(count):
            self.event(customer, "purchase", days_ago + j, amount=amount)
        return self

    def mention(self, customer: int, sentiment: float, days_ago: float) -> Workspace:
        self.mentions.append((customer, sentiment, self.ago(days_ago)))
        return self

    def connect(
        self,
        source: int,
        target: int,
        *,
        replies: int = 0,
        likes: int = 0,
        shares: int = 0,
        messages: int = 0,
        follows: bool = False,
        sentiment: float = math.nan,
        days_ago: float = math.nan,
    ) -> Workspace:
        self.connections.append(
            {
                "c_source": source,
                "c_target": target,
                "c_replies": replies,
                "c_likes": likes,
                "c_shares": shares,
                "c_messages": messages,
                "c_follows": follows,
                "c_sentiment": sentiment,
                "c_last_time": self.ago(days_ago),
            }
        )
        return self

    def build(self) -> RankingInput:
        columns: dict[str, Any] = {}
        if self.events:
            c, k, v, a, t = zip(*self.events, strict=True)
            columns |= {"ev_customer": c, "ev_kind": k, "ev_value": v, "ev_amount": a, "ev_time": t}
        if self.mentions:
            c, s, t = zip(*self.mentions, strict=True)
            columns |= {"m_customer": c, "m_sentiment": s, "m_time": t}
        if self.connections:
            for name in self.connections[0]:
                columns[name] = [row[name] for row in self.connections]
        return RankingInput(
            n=self.n,
            now=self.now,
            followers=self.followers,
            **{name: np.asarray(values) for name, values in columns.items()},
            **{name: np.asarray(values) for name, values in self.tr.items()},
        )


@pytest.fixture
def workspace() -> type[Workspace]:
    return Workspace
