"""A campaign's page: the demo campaign's chart with its table, figures equal to the API's,
the workspace's time zone, sorting, CSV of what is shown, and who may see it."""

from __future__ import annotations

import csv
import io
import re

import pytest

from advocacy.demo.command import build_demo_workspace, demo_campaign
from advocacy.demo.writer import Secrets
from advocacy.workspaces.models import Workspace
from tests.factories import ApiClient, allow_domains, make_campaign


@pytest.fixture
def demo(app, session, console):
    """A small demo workspace (300 customers), the console's workspace switched to it."""
    with app.app_context():
        built = build_demo_workspace(
            session, name="Demo", seed=3, customers=300, secrets=Secrets.from_app()
        )
        session.commit()
    console.workspace = session.get(Workspace, built.workspace_id)
    campaign = demo_campaign(session, built.workspace_id)
    assert campaign is not None
    return built, campaign


def _cells(html: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table id="{table_id}".*?</table>', html, re.S)
    assert table, f"no table {table_id}"
    body = re.search(r"<tbody>(.*?)</tbody>", table.group(0), re.S).group(1)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [
        [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)
        ]
        for r in rows
    ]


def test_demo_campaign_page_has_a_chart_and_its_table_with_the_apis_numbers(console, demo, client):
    built, campaign = demo
    console.sign_in("viewer", workspace_id=built.workspace_id)
    response = console.get(f"/campaigns/{campaign.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<canvas id="chart-traffic" data-chart-table="kpi-table"' in html
    assert 'role="img" aria-label="Chart: clicks' in html
    assert "vendor/chart.js/chart.umd.min.js" in html
    first = re.search(r'name="from" value="([^"]+)"', html).group(1)
    last = re.search(r'name="to" value="([^"]+)"', html).group(1)
    granularity = re.search(r'<option value="(\w+)" selected', html).group(1)
    api = ApiClient(client, built.secret).get(
        f"/api/v1/campaigns/{campaign.id}/kpis?from={first}&to={last}&granularity={granularity}"
    )
    series = api.json["series"]
    rows = _cells(html, "kpi-table")
    assert len(rows) == len(series) and sum(int(r[1].replace(",", "")) for r in rows) > 0
    for row, period in zip(rows, series, strict=True):
        assert row[0] == period["period"]
        assert int(row[1].replace(",", "")) == period["clicks"]
        assert int(row[3].replace(",", "")) == period["conversions"]
    assert 'data-testid="time-zone">UTC<' in html
    assert "Winner:" in html or "No winner yet." in html  # the demo's experiment


def test_leaderboard_sorts_in_place_and_csv_matches(console, demo):
    built, campaign = demo
    console.sign_in("viewer", workspace_id=built.workspace_id)
    fragment = console.get(f"/campaigns/{campaign.id}?sort=-clicks", htmx=True)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html and 'id="leaderboard-table"' in html
    clicks = [int(row[2].replace(",", "")) for row in _cells(html, "advocates-table")]
    assert clicks and clicks == sorted(clicks, reverse=True)
    exported = console.get(f"/campaigns/{campaign.id}/advocates.csv?sort=-clicks")
    assert exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [int(r["clicks"]) for r in rows][: len(clicks)] == clicks[: len(rows)]
    series = console.get(f"/campaigns/{campaign.id}/kpis.csv")
    lines = list(csv.DictReader(io.StringIO(series.get_data(as_text=True))))
    assert lines[-1]["period"] == "total"


def test_range_is_in_the_workspace_time_zone_and_a_bad_range_is_explained(
    console, session, workspace
):
    allow_domains(session, workspace.id, "shop.example")
    campaign = make_campaign(session, workspace.id)
    session.get(Workspace, workspace.id).time_zone = "America/New_York"
    session.commit()
    console.sign_in("viewer")
    html = console.get(
        f"/campaigns/{campaign.id}?from=2026-03-01&to=2026-03-10&granularity=day"
    ).get_data(as_text=True)
    assert 'data-testid="time-zone">America/New_York<' in html
    assert len(_cells(html, "kpi-table")) == 10
    bad = console.get(f"/campaigns/{campaign.id}?from=2026-03-10&to=2026-03-01")
    assert bad.status_code == 200 and "Must not be before" in bad.get_data(as_text=True)


def test_csv_cells_that_look_like_formulas_are_neutralised(console, session, workspace):
    from advocacy.campaigns.models import Enrollment
    from advocacy.customers.models import Customer

    allow_domains(session, workspace.id, "shop.example")
    campaign = make_campaign(session, workspace.id)
    customer = Customer(workspace_id=workspace.id, external_id="=HYPERLINK(1)")
    session.add(customer)
    session.flush()
    session.add(
        Enrollment(
            workspace_id=workspace.id,
            campaign_id=campaign.id,
            customer_id=customer.id,
            method="manual",
        )
    )
    session.commit()
    console.sign_in("viewer")
    body = console.get(f"/campaigns/{campaign.id}/advocates.csv").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in body
