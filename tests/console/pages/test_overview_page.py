"""The Overview: active campaigns against the previous period, what needs a person, and
the daily series as a chart with its table."""

from __future__ import annotations

import re
from typing import Any

import pytest

from advocacy.webhooks.models import OutboxEvent, WebhookDelivery, WebhookSubscription
from tests.factories import ApiClient
from tests.rewards.helpers import click, purchase, report, start_program


@pytest.mark.parametrize("role", ["owner", "manager", "reviewer", "viewer"])
def test_every_role_reads_the_overview(console: Any, role: str) -> None:
    console.sign_in(role)
    html = console.get("/").get_data(as_text=True)
    assert "Needs a person" in html
    canvas = re.search(
        r'<canvas id="overview-chart" data-chart-table="([\w-]+)" role="img"\s+aria-label="[^"]+"',
        html,
    )
    assert canvas, "the chart has an accessible name and names its table"
    assert f'<table id="{canvas.group(1)}">' in html


def test_a_signed_out_visitor_is_sent_to_sign_in(console: Any) -> None:
    response = console.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_held_rewards_wait_in_the_inbox_with_a_link_to_review(
    console: Any, session: Any, client: Any, api: ApiClient, workspace: Any
) -> None:
    program = start_program(session, api, workspace.id)
    device = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (iPhone)"}
    report(api, purchase("ann-own", "ann", email="ann@example.com", **device))
    cookies = click(client, program.token)
    held = report(api, purchase(ref=program.token, visitor_id=cookies["adv_vid"], **device))
    assert {r["state"] for r in held.json["rewards"]} == {"held"}
    console.sign_in("viewer")
    html = console.get("/").get_data(as_text=True)
    assert '<a href="/review/">2 held rewards to review</a>' in html


def test_dead_webhook_deliveries_wait_in_the_inbox(
    console: Any, session: Any, workspace: Any
) -> None:
    subscription = WebhookSubscription(
        workspace_id=workspace.id, url="https://hooks.example/x", secret="whsec_x"
    )
    event = OutboxEvent(workspace_id=workspace.id, msg_id="msg_1", type="reward.issued", payload={})
    session.add_all([subscription, event])
    session.flush()
    session.add(
        WebhookDelivery(
            workspace_id=workspace.id,
            event_id=event.id,
            subscription_id=subscription.id,
            state="dead",
        )
    )
    session.commit()
    console.sign_in("viewer")
    assert "1 dead webhook delivery" in console.get("/").get_data(as_text=True)


def test_an_active_campaign_shows_its_figures_against_the_period_before(
    console: Any, session: Any, client: Any, api: ApiClient, workspace: Any
) -> None:
    program = start_program(session, api, workspace.id, name="Autumn friends")
    click(client, program.token)
    click(client, program.token)
    console.sign_in("viewer")
    html = console.get("/").get_data(as_text=True)
    row = html[html.index("Autumn friends") :]
    assert re.match(r'.*?<td class="num">2<br><span class="change">new</span>', row, re.S)
    series = html[html.index('<table id="overview-series">') :]
    clicks = [int(v) for v in re.findall(r'<td class="num" data-value="(\d+)">', series)[::4]]
    assert sum(clicks) == 2 and len(clicks) == 28


def test_an_unknown_period_is_explained(console: Any) -> None:
    console.sign_in("viewer")
    assert console.get("/?days=5").status_code == 422
