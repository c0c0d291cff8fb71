"""``flask --app advocacy demo``: a deterministic demo workspace, written in bulk."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from advocacy.customers.models import Connection, Customer, EngagementEvent, Mention
from advocacy.demo import writer
from advocacy.demo.command import find_workspace
from advocacy.demo.population import CRISIS_DAYS_AGO, MIN_SAMPLE, PLANTED, VARIANTS
from advocacy.demo.writer import demo_anchor
from advocacy.experiments import stats
from advocacy.experiments.models import Experiment, ExperimentAssignment, ExperimentVariant
from advocacy.rewards.models import Conversion, LedgerEntry, Referral, Reward
from advocacy.types import utcnow
from advocacy.workspaces import service
from advocacy.workspaces.models import Workspace
from tests.factories import ApiClient

SMALL = ["--customers", "300", "--seed", "3"]
DAY = timedelta(days=1)

Run = Callable[..., Result]


@pytest.fixture
def instance(app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Keep the demo key file out of the real instance folder."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path


@pytest.fixture
def run(app: Flask, session: Any, instance: Path) -> Run:
    runner = app.test_cli_runner()

    def invoke(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(args=["demo", *args])
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
        return result

    return invoke


@pytest.fixture
def small(run: Run, session: Any) -> int:
    """A 300-customer demo workspace named 'Small'; its id."""
    run(*SMALL, "--name", "Small")
    return _workspace_id(session, "Small")


def _workspace_id(session: Any, name: str) -> int:
    workspace = find_workspace(session, name)
    assert workspace is not None
    return int(workspace.id)


def _count(session: Any, model: Any, workspace_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
        )
    )


def _customer(session: Any, workspace_id: int, external_id: str) -> Customer:
    customer = session.scalar(
        select(Customer).where(
            Customer.workspace_id == workspace_id, Customer.external_id == external_id
        )
    )
    assert customer is not None, external_id
    return customer


def _events(session: Any, customer_id: int, kind: str) -> list[EngagementEvent]:
    return list(
        session.scalars(
            select(EngagementEvent)
            .where(EngagementEvent.customer_id == customer_id, EngagementEvent.kind == kind)
            .order_by(EngagementEvent.occurred_at)
        )
    )


def _key(output: str) -> str:
    match = re.search(r"admin API key: (adv_\S+)", output)
    assert match, output
    return match.group(1)


def test_writes_the_requested_number_of_rows(run: Run, session: Any) -> None:
    result = run(*SMALL, "--name", "Counted")
    workspace_id = _workspace_id(session, "Counted")
    printed = re.search(
        r"([\d,]+) customers, ([\d,]+) events, ([\d,]+) mentions, ([\d,]+) connections",
        result.output,
    )
    assert printed, result.output
    customers, events, mentions, connections = (int(g.replace(",", "")) for g in printed.groups())
    assert customers == _count(session, Customer, workspace_id) == 300
    assert events == _count(session, EngagementEvent, workspace_id) > 300
    assert mentions == _count(session, Mention, workspace_id) > 30
    assert connections == _count(session, Connection, workspace_id) > 300


def _fingerprint(session: Any, workspace_id: int) -> dict[str, Any]:
    customers = session.execute(
        select(Customer.external_id, Customer.email, Customer.followers, Customer.locale)
        .where(Customer.workspace_id == workspace_id)
        .order_by(Customer.external_id)
    ).all()
    events = session.execute(
        select(
            Customer.external_id,
            EngagementEvent.kind,
            func.count(),
            func.sum(EngagementEvent.amount),
        )
        .join(EngagementEvent, EngagementEvent.customer_id == Customer.id)
        .where(Customer.workspace_id == workspace_id)
        .group_by(Customer.external_id, EngagementEvent.kind)
        .order_by(Customer.external_id, EngagementEvent.kind)
    ).all()
    source, target = aliased(Customer), aliased(Customer)
    edges = session.execute(
        select(source.external_id, target.external_id, Connection.replies, Connection.follows)
        .select_from(Connection)
        .join(source, Connection.source_id == source.id)
        .join(target, Connection.target_id == target.id)
        .where(Connection.workspace_id == workspace_id)
        .order_by(source.external_id, target.external_id)
    ).all()
    mentions = session.execute(
        select(Mention.external_id, Mention.sentiment, Mention.language)
        .where(Mention.workspace_id == workspace_id)
        .order_by(Mention.external_id)
    ).all()
    # Which advocate holds which slot follows the campaign id's hash; what the slots did,
    # and who joined by it, does not.
    conversions = session.execute(
        select(
            Conversion.event_id,
            Customer.external_id,
            Conversion.amount,
            Conversion.occurred_at,
            Reward.role,
            Reward.amount,
        )
        .join(Customer, Customer.id == Conversion.customer_id)
        .join(Reward, Reward.conversion_id == Conversion.id)
        .where(Conversion.workspace_id == workspace_id)
        .order_by(Conversion.event_id, Reward.role)
    ).all()
    return {
        "customers": customers,
        "events": events,
        "edges": edges,
        "mentions": mentions,
        "conversions": conversions,
    }


def test_same_seed_same_data(run: Run, session: Any) -> None:
    run(*SMALL, "--name", "Twin A")
    run(*SMALL, "--name", "Twin B")
    run("--customers", "300", "--seed", "4", "--name", "Other")
    first = _fingerprint(session, _workspace_id(session, "Twin A"))
    second = _fingerprint(session, _workspace_id(session, "Twin B"))
    other = _fingerprint(session, _workspace_id(session, "Other"))
    assert first == second
    assert first["customers"] != other["customers"]


def test_the_portable_insert_path_writes_the_same_data(
    run: Run, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(*SMALL, "--name", "Fast path")
    monkeypatch.setattr(writer, "write_mode", lambda *_: "core")
    run(*SMALL, "--name", "Core path")
    fast = _fingerprint(session, _workspace_id(session, "Fast path"))
    core = _fingerprint(session, _workspace_id(session, "Core path"))
    assert fast == core


def test_customers_page_through_the_api(run: Run, client: FlaskClient) -> None:
    key = _key(run(*SMALL, "--print-usage").output)
    headers = {"Authorization": f"Bearer {key}"}
    seen: list[str] = []
    url = "/api/v1/customers?limit=100"
    while url:
        page = client.get(url, headers=headers).json
        seen += [item["external_id"] for item in page["items"]]
        url = page["next_cursor"] and f"/api/v1/customers?limit=100&cursor={page['next_cursor']}"
    assert len(seen) == len(set(seen)) == 300


def test_loud_detractor_has_an_audience_and_hates_us(small: int, session: Any) -> None:
    detractor = _customer(session, small, PLANTED["loud_detractor"])
    assert detractor.followers is not None and detractor.followers >= 4000
    latest_nps = _events(session, detractor.id, "nps")[-1]
    assert latest_nps.value is not None and latest_nps.value <= 2
    assert latest_nps.occurred_at > utcnow() - 30 * DAY
    recent_negative = session.scalar(
        select(func.count()).where(
            Mention.customer_id == detractor.id,
            Mention.sentiment < -0.3,
            Mention.occurred_at > utcnow() - 90 * DAY,
        )
    )
    assert recent_negative >= 5
    follow_only = session.scalar(
        select(func.count()).where(
            Connection.target_id == detractor.id,
            Connection.follows.is_(True),
            Connection.replies + Connection.likes + Connection.shares + Connection.messages == 0,
        )
    )
    assert follow_only >= 100


def test_quiet_promoters_are_loved_by_few(small: int, session: Any) -> None:
    for external_id in PLANTED["quiet_promoters"]:
        promoter = _customer(session, small, external_id)
        assert promoter.followers is not None and promoter.followers < 50
        latest_nps = _events(session, promoter.id, "nps")[-1]
        assert latest_nps.value is not None and latest_nps.value >= 9
        assert latest_nps.occurred_at > utcnow() - 60 * DAY
        positive = session.execute(
            select(Mention.language).where(
                Mention.customer_id == promoter.id, Mention.sentiment > 0.3
            )
        ).all()
        assert len(positive) >= 5
        assert len({language for (language,) in positive}) >= 2
        replies_in = session.scalar(
            select(func.sum(Connection.replies)).where(Connection.target_id == promoter.id)
        )
        assert replies_in >= 200


def test_overlapping_groups_are_tight_and_share_members(small: int, session: Any) -> None:
    group_a, group_b = (set(group) for group in PLANTED["overlapping_groups"])
    assert group_a & group_b == set(PLANTED["group_bridges"])
    source, target = aliased(Customer), aliased(Customer)
    edges = set(
        session.execute(
            select(source.external_id, target.external_id)
            .select_from(Connection)
            .join(source, Connection.source_id == source.id)
            .join(target, Connection.target_id == target.id)
            .where(Connection.workspace_id == small, Connection.messages > 0)
        ).all()
    )
    for group in (group_a, group_b):
        pairs = {(a, b) for a in group for b in group if a != b}
        assert len(pairs & edges) >= 0.9 * len(pairs)


def test_dormant_fans_loved_us_long_ago(small: int, session: Any) -> None:
    long_ago = utcnow() - 600 * DAY
    for external_id in PLANTED["dormant_fans"]:
        fan = _customer(session, small, external_id)
        last_event = session.scalar(
            select(func.max(EngagementEvent.occurred_at)).where(
                EngagementEvent.customer_id == fan.id
            )
        )
        assert last_event < long_ago
        assert [e.value for e in _events(session, fan.id, "nps")] == [10]
        assert {e.value for e in _events(session, fan.id, "review")} == {5}
        last_mention = session.scalar(
            select(func.max(Mention.occurred_at)).where(Mention.customer_id == fan.id)
        )
        assert last_mention < long_ago


def test_if_missing_keeps_the_existing_workspace(small: int, run: Run, session: Any) -> None:
    result = run(*SMALL, "--name", "Small", "--if-missing")
    assert "nothing built" in result.output
    names = session.scalars(select(Workspace.id).where(Workspace.name == "Small")).all()
    assert names == [small]
    assert _count(session, Customer, small) == 300


def test_an_existing_name_without_if_missing_is_refused(small: int, run: Run) -> None:
    result = run(*SMALL, "--name", "Small", ok=False)
    assert result.exit_code != 0
    assert "--if-missing" in result.output


def test_printed_key_and_examples_work(
    run: Run, client: FlaskClient, instance: Path, session: Any
) -> None:
    result = run(*SMALL, "--print-usage", "--base-url", "http://demo.test:9000/")
    key = _key(result.output)
    key_file = instance / "demo-api-key"
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    headers = {"Authorization": f"Bearer {key}"}
    response = client.get("/api/v1/customers?limit=3", headers=headers)
    assert response.status_code == 200
    assert len(response.json["items"]) == 3
    curls = re.findall(
        r'curl -s -H "Authorization: Bearer (\S+)" "http://demo\.test:9000(/\S+)"', result.output
    )
    assert len(curls) == 6  # customers, advocates, the detractor; KPIs, experiment, alerts
    for printed_key, path in curls:
        assert printed_key == key
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
    ranked = client.get(curls[1][1], headers=headers).json["items"]
    assert ranked and ranked[0]["rank"] == 1
    detractor = client.get(curls[2][1], headers=headers).json
    assert detractor["eligible"] is False and detractor["reasons"][0].startswith("gated")


def test_demo_ranking_puts_quiet_promoters_above_the_loud_detractor(
    run: Run, client: FlaskClient
) -> None:
    key = _key(run(*SMALL, "--print-usage").output)
    headers = {"Authorization": f"Bearer {key}"}
    rank = {
        external_id: client.get(f"/api/v1/advocates/{external_id}", headers=headers).json["rank"]
        for external_id in [PLANTED["loud_detractor"], *PLANTED["quiet_promoters"]]
    }
    loud = rank.pop(PLANTED["loud_detractor"])
    assert all(r < loud for r in rank.values())
    assert max(rank.values()) <= 50


def test_if_missing_prints_the_kept_key(run: Run) -> None:
    key = _key(run(*SMALL, "--print-usage").output)
    again = run(*SMALL, "--if-missing", "--print-usage").output
    assert _key(again) == key
    assert "Issued a new" not in again


@pytest.mark.parametrize("damage", ["revoke", "delete"])
def test_if_missing_replaces_a_lost_or_revoked_key(
    damage: str, run: Run, client: FlaskClient, instance: Path, session: Any
) -> None:
    key = _key(run(*SMALL, "--print-usage").output)
    key_file = instance / "demo-api-key"
    if damage == "revoke":
        principal = service.authenticate(session, secret=key)
        assert principal is not None
        service.revoke_api_key(session, key_id=principal.api_key_id)
        session.commit()
    else:
        key_file.unlink()
    output = run(*SMALL, "--if-missing", "--print-usage").output
    new_key = _key(output)
    assert new_key != key
    assert "Issued a new" in output
    assert key_file.read_text().strip() == new_key
    response = client.get(
        "/api/v1/customers?limit=1", headers={"Authorization": f"Bearer {new_key}"}
    )
    assert response.status_code == 200


def test_other_names_keep_their_own_key_file(run: Run, instance: Path) -> None:
    key = _key(run(*SMALL, "--name", "Sales Demo", "--print-usage").output)
    assert (instance / "demo-api-key-sales-demo").read_text().strip() == key
    assert not (instance / "demo-api-key").exists()


# --- the ended campaign, its experiment, and the crisis day -----------------------------


@dataclass
class Printed:
    api: ApiClient
    output: str
    workspace_id: int

    def path(self, fragment: str) -> str:
        """The path of the one printed curl call that contains ``fragment``."""
        paths = re.findall(
            r'curl -s -H "Authorization: Bearer \S+" "http://[^/"]+(/[^"]+)"', self.output
        )
        (path,) = [p for p in paths if fragment in p]
        return path

    def get(self, fragment: str) -> Any:
        response = self.api.get(self.path(fragment))
        assert response.status_code == 200, response.json
        return response.json


@pytest.fixture
def printed(run: Run, client: FlaskClient, session: Any) -> Printed:
    """The small demo, with its printed key and examples."""
    output = run(*SMALL, "--print-usage").output
    return Printed(ApiClient(client, _key(output)), output, _workspace_id(session, "Demo"))


def test_the_campaigns_kpis_are_not_zero(printed: Printed) -> None:
    body = printed.get("/kpis?")
    totals = body["totals"]
    for field in (
        "advocates",
        "active_advocates",
        "invites",
        "shares",
        "reach",
        "clicks",
        "unique_visitors",
        "conversions",
        "revenue",
        "reward_cost_issued",
    ):
        assert totals[field] > 0, field
    assert totals["reward_cost_pending"] == 0  # an ended campaign: every reward was issued
    assert totals["roi"] > 0 and totals["program_score"]["score"] > 0
    assert sum(1 for week in body["series"] if week["clicks"]) >= 10


def test_the_planted_crisis_day_is_an_alert(printed: Printed) -> None:
    crisis = (demo_anchor() - timedelta(days=CRISIS_DAYS_AGO)).date().isoformat()
    assert f"crisis day (angry posts about lost orders): {crisis}" in printed.output
    alerts = {a["day"]: a for a in printed.get("/insights/alerts?")["alerts"]}
    assert alerts[crisis]["direction"] == "crisis"
    assert alerts[crisis]["volume"] >= 30
    assert alerts[crisis]["top_channels"][0]["channel"] == "x"
    assert alerts[crisis]["customers"], "customers drive it"


def test_the_experiment_reports_both_variants_with_exposures(printed: Printed) -> None:
    body = printed.get("/experiment")
    assert body["unit"] == "advocate"
    assert [v["name"] for v in body["variants"]] == list(VARIANTS)
    assert [v["control"] for v in body["variants"]] == [True, False]
    assert all(v["exposures"] > 0 for v in body["variants"])
    assert sum(v["conversions"] for v in body["variants"]) > 0
    assert body["variants"][0]["inviter_reward"]["amount"] == 2000
    assert body["variants"][1]["invitee_reward"]["amount"] == 1000


def test_the_default_demo_finds_two_way_better(run: Run, client: FlaskClient) -> None:
    """The default size gives a clear, realistic result: two-way converts about twice as
    often, significantly, with the planned sample on both arms."""
    output = run("--name", "Default", "--print-usage").output
    body = Printed(ApiClient(client, _key(output)), output, 0).get("/experiment")
    control, two_way = body["variants"]
    assert body["winner"] == "two_way_10_10"
    assert min(control["exposures"], two_way["exposures"]) >= MIN_SAMPLE
    assert 1.5 <= two_way["rate"] / control["rate"] <= 3
    assert two_way["p_value"] < 0.01


def test_advocates_are_in_the_variants_their_hash_gives(printed: Printed) -> None:
    campaign_id = int(printed.path("/experiment").split("/")[4])
    enrolled: list[str] = []
    url = f"/api/v1/campaigns/{campaign_id}/enrollments?limit=100"
    while url:
        page = printed.api.get(url).json
        enrolled += [item["customer"] for item in page["items"]]
        cursor = page["next_cursor"]
        url = cursor and f"/api/v1/campaigns/{campaign_id}/enrollments?limit=100&cursor={cursor}"
    items = printed.api.post(
        f"/api/v1/campaigns/{campaign_id}/experiment/assignments", json={"advocates": enrolled}
    ).json["items"]
    assert {item["status"] for item in items} == {"assigned"}  # recorded by the demo
    assert [item["variant"] for item in items] == [
        VARIANTS[stats.assign_variant(campaign_id, name, [1, 1])] for name in enrolled
    ]


def test_rewards_follow_each_advocates_variant(printed: Printed, session: Any) -> None:
    rows = session.execute(
        select(
            ExperimentVariant.name,
            Reward.role,
            Reward.amount,
            Reward.state,
            Reward.beneficiary_id == Referral.advocate_id,
        )
        .join(Referral, Referral.id == Reward.referral_id)
        .join(Experiment, Experiment.campaign_id == Referral.campaign_id)
        .join(
            ExperimentAssignment,
            (ExperimentAssignment.customer_id == Referral.advocate_id)
            & (ExperimentAssignment.experiment_id == Experiment.id),
        )
        .join(ExperimentVariant, ExperimentVariant.id == ExperimentAssignment.variant_id)
        .where(Reward.workspace_id == printed.workspace_id)
    ).all()
    assert rows
    assert {(name, role, amount) for name, role, amount, _, _ in rows} <= {
        ("one_way_20_0", "inviter", 2000),
        ("two_way_10_10", "inviter", 1000),
        ("two_way_10_10", "invitee", 1000),
    }
    assert all(state == "issued" for _, _, _, state, _ in rows)
    assert all(to_advocate == (role == "inviter") for _, role, _, _, to_advocate in rows)


def test_every_issued_reward_is_booked_in_balance(printed: Printed, session: Any) -> None:
    workspace_id = printed.workspace_id
    rewards = session.scalar(
        select(func.sum(Reward.amount)).where(Reward.workspace_id == workspace_id)
    )
    transactions = session.execute(
        select(func.sum(LedgerEntry.amount), func.max(LedgerEntry.amount))
        .where(LedgerEntry.workspace_id == workspace_id)
        .group_by(LedgerEntry.transaction_id)
    ).all()
    assert {total for total, _ in transactions} == {0}  # each transaction balances
    assert sum(paid for _, paid in transactions) == rewards  # and pays one issued reward
    advocate = session.scalar(
        select(Customer.external_id)
        .join(Referral, Referral.advocate_id == Customer.id)
        .where(Customer.workspace_id == workspace_id)
        .limit(1)
    )
    body = printed.api.get(f"/api/v1/customers/{advocate}/rewards?limit=100").json
    assert body["balance"][0]["amount"] == sum(
        r["amount"] for r in body["items"] if r["state"] == "issued"
    )
