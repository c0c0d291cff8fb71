"""Clicks, unique visitors, active advocates and reach equal a brute-force count in Python.

PostgreSQL and SQLite compute these figures with different queries (advocacy/kpis/activity.py).
This campaign is built to reach the corners where they could part: more than 63 periods (reach
bitmasks come in chunks of 63 periods), a DST change, clicks exactly on period bounds, several
links per advocate, visitors coming back across periods, advocates and campaigns, people
connected to several advocates, a withdrawn advocate.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from advocacy.customers.models import Connection
from advocacy.kpis.models import Share
from advocacy.kpis.service import kpi_periods
from advocacy.links.models import ReferralLink
from tests.factories import enroll, make_campaign
from tests.kpis.conftest import add_click, add_customers, add_link

FIRST, LAST, TZ = date(2026, 1, 20), date(2026, 3, 31), "Europe/Berlin"  # 71 days, DST on 29 March
QUERY = f"from={FIRST}&to={LAST}&tz={TZ}"
ADVOCATES = [f"a{i}" for i in range(8)]
PEOPLE = [f"p{i}" for i in range(30)]
FIELDS = ("clicks", "unique_visitors", "active_advocates", "reach", "invites", "shares")


@dataclass
class Planted:
    campaign: Any
    advocate_of_link: dict[int, str] = field(default_factory=dict)
    links: list[tuple[int, datetime]] = field(default_factory=list)  # (link, created)
    shares: list[tuple[str, datetime]] = field(default_factory=list)  # (advocate, when)
    clicks: list[tuple[int, str, datetime]] = field(default_factory=list)  # (link, visitor, when)
    connections: list[tuple[str, str]] = field(default_factory=list)  # (person, advocate)


@pytest.fixture
def planted(session: Any, workspace: Any) -> Planted:
    rng = random.Random(7)
    ids = add_customers(session, workspace.id, *ADVOCATES, *PEOPLE)
    campaign, other = make_campaign(session, workspace.id), make_campaign(session, workspace.id)
    plant = Planted(campaign)
    bounds = [p.start for p in kpi_periods(FIRST, LAST, "day", TZ)]
    begin, end = bounds[0] - timedelta(days=3), bounds[-1] + timedelta(days=4)

    def moment() -> datetime:
        if rng.random() < 0.1:  # exactly on a local midnight
            return rng.choice(bounds)
        return begin + timedelta(minutes=rng.randrange(int((end - begin).total_seconds() // 60)))

    for name in ADVOCATES:
        enrollment = enroll(session, campaign, name)
        enrollment.enrolled_at = begin - timedelta(days=30)
        if name == "a7":
            enrollment.withdrawn_at = begin - timedelta(days=1)
        for channel in rng.sample(["x", "y", "z"], rng.randint(1, 3)):
            link = ReferralLink(
                workspace_id=workspace.id,
                campaign_id=campaign.id,
                enrollment_id=enrollment.id,
                advocate_id=ids[name],
                channel=channel,
                token=f"{name}-{channel}",
                created_at=moment(),
                expires_at=end + timedelta(days=365),
            )
            session.add(link)
            session.flush()
            plant.advocate_of_link[link.id] = name
            plant.links.append((link.id, link.created_at))
    elsewhere = add_link(session, other, enroll(session, other, "a0"), ids["a0"], begin)
    for person in PEOPLE:
        for name in rng.sample(ADVOCATES, rng.randint(1, 3)):
            session.add(
                Connection(
                    workspace_id=workspace.id,
                    source_id=ids[person],
                    target_id=ids[name],
                    channel="x",
                    follows=True,
                )
            )
            plant.connections.append((person, name))
    for number in range(20):
        name, when = rng.choice(ADVOCATES[:7]), moment()
        session.add(
            Share(
                workspace_id=workspace.id,
                share_id=f"s{number}",
                campaign_id=campaign.id,
                advocate_id=ids[name],
                channel="x",
                impressions=None,
                occurred_at=when,
            )
        )
        plant.shares.append((name, when))
    links = list(plant.advocate_of_link)
    for _ in range(400):
        link, visitor, when = rng.choice(links), f"v{rng.randrange(40)}", moment()
        add_click(session, campaign, link, visitor, when)
        plant.clicks.append((link, visitor, when))
        if rng.random() < 0.2:  # the same visitor on another campaign: never counted here
            add_click(session, other, elsewhere, visitor, when)
    session.commit()
    return plant


def expected(plant: Planted, lo: datetime, hi: datetime) -> dict[str, int]:
    """The figures of [lo, hi), counted by hand."""
    clicks = [(link, visitor) for link, visitor, when in plant.clicks if lo <= when < hi]
    active = (
        {plant.advocate_of_link[link] for link, created in plant.links if lo <= created < hi}
        | {name for name, when in plant.shares if lo <= when < hi}
        | {plant.advocate_of_link[link] for link, _ in clicks}
    )
    return {
        "clicks": len(clicks),
        "unique_visitors": len({visitor for _, visitor in clicks}),
        "active_advocates": len(active),
        "reach": len({person for person, name in plant.connections if name in active}),
        "invites": sum(lo <= created < hi for _, created in plant.links),
        "shares": sum(lo <= when < hi for _, when in plant.shares),
    }


def figures(row: dict[str, Any]) -> dict[str, int]:
    return {k: row[k] for k in FIELDS}


@pytest.mark.parametrize("granularity", ["day", "week", "month"])
def test_every_period_and_the_totals(api: Any, planted: Planted, granularity: str) -> None:
    response = api.get(
        f"/api/v1/campaigns/{planted.campaign.id}/kpis?{QUERY}&granularity={granularity}"
    )
    assert response.status_code == 200, response.json
    body = response.json
    periods = kpi_periods(FIRST, LAST, granularity, TZ)
    assert len(body["series"]) == len(periods)
    for period, row in zip(periods, body["series"], strict=True):
        assert figures(row) == expected(planted, period.start, period.end), period.label
    assert figures(body["totals"]) == expected(planted, periods[0].start, periods[-1].end)


def test_the_campaign_is_active_across_the_first_mask_boundary(planted: Planted) -> None:
    periods = kpi_periods(FIRST, LAST, "day", TZ)
    assert len(periods) > 63
    assert all(expected(planted, p.start, p.end)["reach"] for p in periods[60:66])


def test_each_advocates_click_figures(api: Any, planted: Planted) -> None:
    response = api.get(f"/api/v1/campaigns/{planted.campaign.id}/advocates/kpis?{QUERY}&limit=100")
    assert response.status_code == 200, response.json
    periods = kpi_periods(FIRST, LAST, "day", TZ)
    lo, hi = periods[0].start, periods[-1].end
    items = {item["advocate"]: item for item in response.json["items"]}
    for name in ADVOCATES:
        mine = Planted(
            planted.campaign,
            planted.advocate_of_link,
            [(link, at) for link, at in planted.links if planted.advocate_of_link[link] == name],
            [(n, at) for n, at in planted.shares if n == name],
            [c for c in planted.clicks if planted.advocate_of_link[c[0]] == name],
            [(person, n) for person, n in planted.connections if n == name],
        )
        want = expected(mine, lo, hi)
        if name not in items:
            assert want["active_advocates"] == 0, name
            continue
        item = items[name]
        assert item["active"] == bool(want.pop("active_advocates")), name
        assert {k: item[k] for k in want} == want, name
