"""Booking a conversion's referral and rewards on PostgreSQL in one statement.

What ``booking.book_rewards`` writes in up to seven statements (the referral; the rewards;
their history; the ledger accounts looked up, then opened; the award transactions, then
their entries), written by one statement of data-modifying CTEs: every row depends only on
values the request already holds and on ids the statement itself generates. The sides and
steps come as arrays (``unnest``), so the SQL is one text whatever their number, and
psycopg prepares it once per connection. The answer is the ids; the rows are built here
from the values written, as the response and the outbox events read them.

A ledger account opened by a concurrent transaction after this statement's snapshot is
neither inserted (ON CONFLICT DO NOTHING) nor seen: its entries get no account id, the
NOT NULL constraint refuses them, and the request runs again (an IntegrityError is
retried, ``api.idempotency``), finding the account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text

from advocacy.rewards import bookkeeping, ledger, rules
from advocacy.statements import run
from advocacy.types import DbSession
from advocacy.webhooks.service import DomainEvent, outbox_rows

APPROVED_AS_WRITTEN = "no return window"


@dataclass
class Booked:
    referral: Any  # the referral's row (its columns)
    rewards: list[Any]  # the rewards' rows
    events: list[DomainEvent] = field(default_factory=list)


_BOOK = text(
    """
WITH given AS MATERIALIZED (
    -- The arrays arrive through this one row, not straight into unnest(): PostgreSQL then
    -- estimates every unnest at the same size whatever the values, a generic plan costs
    -- what a custom one does, and the prepared statement keeps its generic plan. Given
    -- to unnest() directly, they were estimated exactly, so PostgreSQL planned this
    -- statement afresh at every execution: half a millisecond of its CPU per conversion.
    SELECT
        CAST(:reward_ids AS bigint[]) AS reward_ids,
        CAST(:roles AS varchar[]) AS roles,
        CAST(:beneficiaries AS bigint[]) AS beneficiaries,
        CAST(:kinds AS varchar[]) AS kinds,
        CAST(:amounts AS bigint[]) AS amounts,
        CAST(:currencies AS varchar[]) AS currencies,
        CAST(:from_states AS varchar[]) AS from_states,
        CAST(:to_states AS varchar[]) AS to_states,
        CAST(:step_reasons AS varchar[]) AS step_reasons,
        CAST(:account_codes AS varchar[]) AS account_codes,
        CAST(:account_kinds AS varchar[]) AS account_kinds,
        CAST(:account_campaigns AS bigint[]) AS account_campaigns,
        CAST(:account_customers AS bigint[]) AS account_customers,
        CAST(:account_units AS varchar[]) AS account_units,
        CAST(:posting_roles AS varchar[]) AS posting_roles,
        CAST(:posting_codes AS varchar[]) AS posting_codes,
        CAST(:posting_amounts AS bigint[]) AS posting_amounts,
        CAST(:msg_ids AS varchar[]) AS msg_ids,
        CAST(:event_types AS varchar[]) AS event_types,
        CAST(:payloads AS json[]) AS payloads,
        CAST(:approve_now AS boolean) AS approve_now
),
referral AS (
    INSERT INTO referrals (id, workspace_id, campaign_id, conversion_id, link_id, click_id,
        advocate_id, invitee_id, evidence, touched_at, state, reason, created_at, updated_at)
    VALUES (:id, :workspace_id, :campaign_id, :conversion_id, :link_id, :click_id,
        :advocate_id, :invitee_id, :evidence, :touched_at, :state, :reason, :now, :now)
),
reward AS (
    INSERT INTO rewards (id, workspace_id, campaign_id, conversion_id, referral_id, role,
        beneficiary_id, kind, amount, currency, state, reasons, approve_after, code,
        created_at, updated_at)
    SELECT side.id, :workspace_id, :campaign_id, :conversion_id, :id, side.role,
        side.beneficiary_id, side.kind, side.amount, side.currency, :reward_state,
        CAST(:reward_reasons AS json), :approve_after, NULL, :now, :now
    FROM given, unnest(given.reward_ids, given.roles, given.beneficiaries, given.kinds,
        given.amounts, given.currencies)
        AS side (id, role, beneficiary_id, kind, amount, currency)
    RETURNING id, role
),
history AS (
    INSERT INTO reward_events (workspace_id, reward_id, from_state, to_state, reason, at)
    SELECT :workspace_id, reward.id, step.from_state, step.to_state, step.reason, :now
    FROM reward, given, unnest(given.from_states, given.to_states, given.step_reasons)
        WITH ORDINALITY AS step (from_state, to_state, reason, n)
    ORDER BY step.n, reward.id
),
opened AS (
    INSERT INTO ledger_accounts (workspace_id, code, kind, campaign_id, customer_id, unit,
        created_at)
    SELECT :workspace_id, account.code, account.kind, account.campaign_id,
        account.customer_id, account.unit, :now
    FROM given, unnest(given.account_codes, given.account_kinds, given.account_campaigns,
        given.account_customers, given.account_units)
        AS account (code, kind, campaign_id, customer_id, unit)
    -- A lookup per code (a scalar subquery, never turned into a join): the unique index
    -- on both columns, whatever the planner believes of the table. As a NOT EXISTS it
    -- became an anti join reading every account of the workspace (one per rewarded
    -- customer), a scan that grew with each conversion.
    WHERE (
        SELECT known.id FROM ledger_accounts known
        WHERE known.workspace_id = :workspace_id AND known.code = account.code
    ) IS NULL
    ORDER BY account.code
    ON CONFLICT (workspace_id, code) DO NOTHING
    RETURNING id, code
),
account AS (
    SELECT id, code FROM opened
    UNION ALL
    SELECT id, code FROM (
        SELECT (
            SELECT known.id FROM ledger_accounts known
            WHERE known.workspace_id = :workspace_id AND known.code = wanted.code
        ) AS id, wanted.code
        FROM given, unnest(given.account_codes) AS wanted (code)
    ) AS existing
    WHERE id IS NOT NULL
),
award AS (
    INSERT INTO ledger_transactions (workspace_id, reward_id, kind, created_at)
    SELECT :workspace_id, reward.id, :award, :now
    FROM reward, given WHERE given.approve_now
    ORDER BY reward.id
    RETURNING id, reward_id
),
entry AS (
    INSERT INTO ledger_entries (workspace_id, transaction_id, account_id, amount, created_at)
    SELECT :workspace_id, award.id,
        (SELECT account.id FROM account WHERE account.code = posting.code),
        posting.amount, :now
    FROM award
    JOIN reward ON reward.id = award.reward_id
    CROSS JOIN given
    JOIN unnest(given.posting_roles, given.posting_codes, given.posting_amounts)
        WITH ORDINALITY AS posting (role, code, amount, n) ON posting.role = reward.role
    ORDER BY award.id, posting.n
),
outbox AS (
    INSERT INTO outbox_events (workspace_id, msg_id, type, payload, created_at)
    SELECT :workspace_id, event.msg_id, event.type, event.payload, :now
    FROM given, unnest(given.msg_ids, given.event_types, given.payloads)
        WITH ORDINALITY AS event (msg_id, type, payload, n)
    ORDER BY event.n
)
SELECT count(*) AS rewards FROM reward
"""
)


def _ledger_parameters(workspace_id: int, rewards: list[Any]) -> dict[str, Any]:
    """The award postings of ``rewards`` (checked to balance) and the accounts they name."""
    postings = [
        (reward.role, posting)
        for reward in rewards
        for posting in ledger.award_postings(
            campaign_id=reward.campaign_id,
            customer_id=reward.beneficiary_id,
            unit=rules.unit(reward.currency),
            amount=reward.amount,
        )
    ]
    accounts = [
        bookkeeping.account_row(workspace_id, code)
        for code in sorted({posting.account for _, posting in postings})
    ]
    return {
        "posting_roles": [role for role, _ in postings],
        "posting_codes": [posting.account for _, posting in postings],
        "posting_amounts": [posting.amount for _, posting in postings],
        "account_codes": [a["code"] for a in accounts],
        "account_kinds": [a["kind"] for a in accounts],
        "account_campaigns": [a["campaign_id"] for a in accounts],
        "account_customers": [a["customer_id"] for a in accounts],
        "account_units": [a["unit"] for a in accounts],
    }


def book_in_one_statement(
    session: DbSession, booked: Booked, verdict: Any, events: list[DomainEvent], now: datetime
) -> None:
    """Write the ``booked`` rows (ids drawn already) with their history, (approved now)
    their award transactions, and ``events`` to the outbox."""
    referral, rewards = booked.referral, booked.rewards
    steps = [(None, verdict.state, ",".join(verdict.reasons) or None)] if rewards else []
    approved = bool(rewards) and verdict.approve_now
    if approved:
        steps.append((verdict.state, rules.APPROVED, APPROVED_AS_WRITTEN))
    outbox = outbox_rows(events, now)
    parameters = {
        **vars(referral),
        "now": now,
        "reward_state": rewards[0].state if rewards else None,
        "reward_reasons": json.dumps(list(verdict.reasons)),
        "approve_after": verdict.approve_after,
        "reward_ids": [r.id for r in rewards],
        "roles": [r.role for r in rewards],
        "beneficiaries": [r.beneficiary_id for r in rewards],
        "kinds": [r.kind for r in rewards],
        "amounts": [r.amount for r in rewards],
        "currencies": [r.currency for r in rewards],
        "from_states": [s[0] for s in steps],
        "to_states": [s[1] for s in steps],
        "step_reasons": [s[2] for s in steps],
        "award": bookkeeping.AWARD,
        "approve_now": approved,
        **_ledger_parameters(referral.workspace_id, rewards if approved else []),
        "msg_ids": [row["msg_id"] for row in outbox],
        "event_types": [row["type"] for row in outbox],
        "payloads": [json.dumps(row["payload"]) for row in outbox],
    }
    written = run(session, _BOOK, parameters).scalar_one()
    assert written == len(rewards), (written, len(rewards))
