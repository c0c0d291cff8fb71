"""The Overview's grouped figures agree with the campaign KPIs the API reports."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from advocacy.kpis.overview import HEADLINE, SERIES, workspace_overview
from advocacy.kpis.service import campaign_kpis
from tests.factories import enroll, make_campaign
from tests.kpis.conftest import add_click, add_link, at

TZ = "Europe/Berlin"


def _kpis(session: Any, workspace_id: int, campaign_id: int, first: date, last: date) -> Any:
    return campaign_kpis(
        session,
        workspace_id=workspace_id,
        campaign_id=campaign_id,
        first=first,
        last=last,
        granularity="day",
        tz=TZ,
    )


@pytest.mark.parametrize(
    ("today", "days"), [(date(2026, 3, 12), 7), (date(2026, 3, 18), 7), (date(2026, 4, 20), 90)]
)
def test_each_campaign_and_the_series_match_campaign_kpis(
    session: Any, workspace: Any, seeded: Any, today: date, days: int
) -> None:
    other = make_campaign(session, workspace.id, name="Second")
    enrollment = enroll(session, other, "ann")
    link = add_link(session, other, enrollment, seeded.customers["ann"], at(11))
    add_click(session, other, link, "v9", at(11, 23, 30))  # 00:30 on the 12th in Berlin
    session.commit()
    overview = workspace_overview(session, workspace_id=workspace.id, tz=TZ, today=today, days=days)
    first = today - timedelta(days=days - 1)
    assert {row.campaign.id for row in overview.campaigns} == {seeded.campaign.id, other.id}
    series = [dict.fromkeys(SERIES, 0) for _ in range(days)]
    for row in overview.campaigns:
        now = _kpis(session, workspace.id, row.campaign.id, first, today)
        before = _kpis(
            session, workspace.id, row.campaign.id, first - timedelta(days), first - timedelta(1)
        )
        assert {k: row.current[k] for k in HEADLINE} == {k: now.totals[k] for k in HEADLINE}
        assert {k: row.previous[k] for k in HEADLINE} == {k: before.totals[k] for k in HEADLINE}
        for summed, point in zip(series, now.series, strict=True):
            for name in SERIES:
                summed[name] += point[name]
    assert [{k: row[k] for k in SERIES} for row in overview.series] == series
    assert (
        sum(row["clicks"] for row in series)
        + sum(row.previous["clicks"] for row in overview.campaigns)
        == 6
    )
