"""The Listening page: mentions per local day with the demo's crisis day marked, the alert,
supporters and detractors; every role may read it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from advocacy.demo.command import build_demo_workspace
from advocacy.demo.population import CRISIS_DAYS_AGO
from advocacy.demo.writer import Secrets, demo_anchor


@pytest.fixture
def demo_id(app, session):
    built = build_demo_workspace(
        session, name="Demo", seed=3, customers=300, secrets=Secrets.from_app()
    )
    session.commit()
    return built.workspace_id


def test_demo_crisis_day_is_marked_in_the_chart_table_and_listed(console, demo_id):
    console.sign_in("viewer", workspace_id=demo_id)
    response = console.get("/listening/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    crisis = (demo_anchor() - timedelta(days=CRISIS_DAYS_AGO)).date().isoformat()
    assert '<canvas id="chart-mentions" data-chart-table="mentions-table"' in html
    assert f'<tr data-alert class="alert-day">\n        <th scope="row">{crisis}</th>' in html
    assert f'<th scope="row">{crisis}</th>\n        <td>crisis</td>' in html  # the alert list
    assert 'id="supporters"' in html and 'id="detractors"' in html
    assert "No one in this period." not in html


@pytest.mark.parametrize("role", ["owner", "manager", "reviewer", "viewer"])
def test_every_role_reads_listening(console, role):
    console.sign_in(role)
    assert console.get("/listening/").status_code == 200


def test_a_reversed_range_is_explained(console):
    console.sign_in("viewer")
    html = console.get("/listening/?from=2026-03-10&to=2026-03-01").get_data(as_text=True)
    assert "Must not be before" in html
