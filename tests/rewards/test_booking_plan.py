"""A conversion's work does not grow with the workspace (PostgreSQL).

Every rewarded customer has a ledger account, so a workspace gathers one per conversion.
Booking must look up the few accounts it posts to by their code, with whatever plan
PostgreSQL picks, statistics or none (a database without autovacuum has none): written as
a NOT EXISTS, the lookup became an anti join that read every account of the workspace on
every conversion, and conversions slowed down as they accumulated.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, insert, text

from advocacy.rewards.models import LedgerAccount
from advocacy.types import utcnow
from tests.rewards.helpers import click, purchase, report, start_program


def _scans(node: dict[str, Any], relation: str) -> list[dict[str, Any]]:
    """Every plan node under ``node`` reading ``relation`` (not writing it)."""
    reads = node.get("Relation Name") == relation and "Scan" in node["Node Type"]
    found = [node] if reads else []
    for child in node.get("Plans", []):
        found += _scans(child, relation)
    return found


def test_booking_reads_ledger_accounts_by_code_not_the_whole_workspace(
    session, client, api, workspace
):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("booking in one statement is PostgreSQL's")
    program = start_program(session, api, workspace.id, hold_days=0)
    # A workspace that has rewarded thousands of customers: thousands of accounts.
    session.execute(
        insert(LedgerAccount),
        [
            {
                "workspace_id": workspace.id,
                "code": f"campaign:{program.campaign.id}:U{i:05d}",
                "kind": "campaign",
                "campaign_id": program.campaign.id,
                "unit": f"U{i:05d}",
                "created_at": utcnow(),
            }
            for i in range(3000)
        ],
    )
    session.flush()
    booked: list[tuple[str, Any]] = []

    def keep_booking(_conn, _cursor, statement, parameters, _context, _many):  # noqa: ANN001
        if "INSERT INTO ledger_accounts" in statement:
            booked.append((statement, parameters))

    connection = session.get_bind()
    event.listen(connection, "before_cursor_execute", keep_booking)
    try:
        cookies = click(client, program.token)
        response = report(api, purchase(ref=program.token, visitor_id=cookies["adv_vid"]))
    finally:
        event.remove(connection, "before_cursor_execute", keep_booking)
    assert response.status_code == 201, response.json
    assert {r["state"] for r in response.json["rewards"]} == {"approved"}
    assert len(booked) == 1
    statement, parameters = booked[0]
    plan = (
        session.connection()
        .exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
        .scalar_one()
    )
    scans = _scans(plan[0]["Plan"], "ledger_accounts")
    assert scans, plan
    for scan in scans:
        # Each read of the accounts is an index lookup on the account's code, not a
        # scan of the workspace's accounts filtered afterwards.
        condition = scan.get("Index Cond") or scan.get("Recheck Cond") or ""
        assert "code" in condition, scan


def _statements_of_a_conversion(session, client, api, program) -> list[tuple[str, Any]]:
    sent: list[tuple[str, Any]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many):  # noqa: ANN001
        sent.append((statement, parameters))

    connection = session.get_bind()
    cookies = click(client, program.token)
    event.listen(connection, "before_cursor_execute", keep)
    try:
        response = report(api, purchase(ref=program.token, visitor_id=cookies["adv_vid"]))
    finally:
        event.remove(connection, "before_cursor_execute", keep)
    assert response.status_code == 201, response.json
    return sent


def test_no_statement_of_a_conversion_enters_through_a_campaign_or_workspace_wide_index(
    session, client, api, workspace
):
    """The limits count a person's referrals through that person's index, and the ref's
    link is found by its id: a campaign's or workspace's index, filtered afterwards,
    would read every referral or link there (what PostgreSQL did without statistics)."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the plans are PostgreSQL's")
    program = start_program(session, api, workspace.id, "ann", "bob", hold_days=0)
    plans = [
        session.connection()
        .exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
        .scalar_one()[0]["Plan"]
        for statement, parameters in _statements_of_a_conversion(session, client, api, program)
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))
    ]
    referral_reads = [scan for plan in plans for scan in _scans(plan, "referrals")]
    link_reads = [scan for plan in plans for scan in _scans(plan, "referral_links")]
    assert referral_reads and link_reads
    for scan in referral_reads:
        condition = scan.get("Index Cond") or scan.get("Recheck Cond") or ""
        assert "advocate_id" in condition or "invitee_id" in condition, scan
    for scan in link_reads:
        condition = scan.get("Index Cond") or scan.get("Recheck Cond") or ""
        assert "id =" in condition and not condition.startswith("(workspace_id"), scan


def test_a_conversion_is_planned_once_per_connection(session, client, api, workspace):
    """Every statement of a reported conversion, from the key's lookup on, is a prepared
    statement, and PostgreSQL plans the booking once for the connection (a generic plan),
    not afresh at every conversion: planning it was a sixth of a conversion's database
    CPU. Its arrays reach unnest() through a CTE, so no estimate depends on their values
    and the generic plan costs what a custom one does."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    program = start_program(session, api, workspace.id, hold_days=0)
    for n in range(8):  # PostgreSQL's choice between the two is made from the sixth on
        client.delete_cookie("adv_vid")
        cookies = click(client, program.token)
        response = report(
            api,
            purchase(f"order-{n}", f"friend-{n}", ref=program.token, visitor_id=cookies["adv_vid"]),
        )
        assert response.status_code == 201, response.json
        assert {r["state"] for r in response.json["rewards"]} == {"approved"}
    prepared = [
        statement
        for (statement,) in session.connection().execute(
            text("SELECT statement FROM pg_prepared_statements")
        )
    ]
    for what in ("FROM api_keys", "INSERT INTO idempotency_keys", "UPDATE idempotency_keys"):
        assert any(what in statement for statement in prepared), (what, prepared)
    plans = (
        session.connection()
        .execute(
            text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                " WHERE strpos(statement, 'INSERT INTO referrals') > 0"
            )
        )
        .all()
    )
    assert len(plans) == 1, plans
    generic, custom = plans[0]
    assert generic >= 2 and custom <= 5, plans[0]
