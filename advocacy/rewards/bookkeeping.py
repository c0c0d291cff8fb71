"""The ledger in the database: accounts, award and reversal transactions, balances.

Only inserts: an award moves a reward's amount from its campaign's budget account to
the beneficiary's reward account; a reversal is a new transaction of the negated entries,
linked to the award (a unique constraint allows one per award). Balances are sums of
entries. Functions flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select

from advocacy.rewards import ledger, rules
from advocacy.rewards.models import LedgerAccount, LedgerEntry, LedgerTransaction, Reward
from advocacy.statements import run
from advocacy.types import DbSession
from advocacy.upserts import insert_ignoring_conflicts

AWARD, REVERSAL = "award", "reversal"
CAMPAIGN_BUDGET, CUSTOMER_REWARDS = "campaign_budget", "customer_rewards"


def _parse_code(code: str) -> tuple[str, int, str]:
    owner, owner_id, unit = code.split(":")
    kind = CAMPAIGN_BUDGET if owner == "campaign" else CUSTOMER_REWARDS
    return kind, int(owner_id), unit


def account_row(workspace_id: int, code: str) -> dict[str, Any]:
    """The columns of the account named ``code`` (opened on first use)."""
    kind, owner_id, unit = _parse_code(code)
    return {
        "workspace_id": workspace_id,
        "code": code,
        "kind": kind,
        "campaign_id": owner_id if kind == CAMPAIGN_BUDGET else None,
        "customer_id": owner_id if kind == CUSTOMER_REWARDS else None,
        "unit": unit,
    }


def account_ids(session: DbSession, workspace_id: int, codes: Iterable[str]) -> dict[str, int]:
    """The ids of the accounts named by ``codes``, opening those that do not exist yet."""
    wanted = set(codes)
    found = {
        row.code: row.id
        for row in run(
            session,
            select(LedgerAccount.code, LedgerAccount.id).where(
                LedgerAccount.workspace_id == workspace_id, LedgerAccount.code.in_(wanted)
            ),
        )
    }
    missing = sorted(wanted - set(found))
    if missing:
        rows = [account_row(workspace_id, code) for code in missing]
        # A concurrent transaction may open the same account: skip it, then read it.
        found.update(
            {
                row.code: row.id
                for row in run(
                    session,
                    insert_ignoring_conflicts(
                        session, LedgerAccount.__table__, ("workspace_id", "code")
                    ).returning(LedgerAccount.code, LedgerAccount.id),
                    rows,
                )
            }
        )
        raced = [code for code in missing if code not in found]
        if raced:
            found.update(
                {
                    row.code: row.id
                    for row in run(
                        session,
                        select(LedgerAccount.code, LedgerAccount.id).where(
                            LedgerAccount.workspace_id == workspace_id,
                            LedgerAccount.code.in_(raced),
                        ),
                    )
                }
            )
    return found


_TRANSACTIONS = LedgerTransaction.__table__
_INSERT_TRANSACTIONS = insert(_TRANSACTIONS).returning(
    _TRANSACTIONS.c.id, sort_by_parameter_order=True
)
_INSERT_ENTRIES = insert(LedgerEntry.__table__)


def _write(
    session: DbSession,
    workspace_id: int,
    transactions: Sequence[tuple[dict[str, object], list[ledger.Posting]]],
    now: datetime,
) -> list[int]:
    for _, postings in transactions:
        ledger.check_balanced(postings)
    accounts = account_ids(
        session, workspace_id, {p.account for _, postings in transactions for p in postings}
    )
    ids = list(
        run(
            session,
            _INSERT_TRANSACTIONS,
            [{"workspace_id": workspace_id, "created_at": now, **t} for t, _ in transactions],
        ).scalars()
    )
    run(
        session,
        _INSERT_ENTRIES,
        [
            {
                "workspace_id": workspace_id,
                "transaction_id": transaction_id,
                "account_id": accounts[posting.account],
                "amount": posting.amount,
                "created_at": now,
            }
            for transaction_id, (_, postings) in zip(ids, transactions, strict=True)
            for posting in postings
        ],
    )
    return ids


def post_awards(session: DbSession, rewards: Sequence[Any], *, now: datetime) -> list[int]:
    """One award transaction per reward (all of one workspace; ``Reward`` objects or rows
    with their columns)."""
    if not rewards:
        return []
    return _write(
        session,
        rewards[0].workspace_id,
        [
            (
                {"reward_id": r.id, "kind": AWARD},
                ledger.award_postings(
                    campaign_id=r.campaign_id,
                    customer_id=r.beneficiary_id,
                    unit=rules.unit(r.currency),
                    amount=r.amount,
                ),
            )
            for r in rewards
        ],
        now,
    )


def post_reversal(session: DbSession, reward: Reward, *, now: datetime) -> int:
    """The reversal of the reward's award transaction (which must exist)."""
    award_id = session.scalar(
        select(LedgerTransaction.id).where(
            LedgerTransaction.reward_id == reward.id, LedgerTransaction.kind == AWARD
        )
    )
    if award_id is None:
        raise LookupError(f"reward {reward.id} has no award to reverse")
    original = [
        ledger.Posting(row.code, row.amount)
        for row in session.execute(
            select(LedgerAccount.code, LedgerEntry.amount)
            .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
            .where(LedgerEntry.transaction_id == award_id)
            .order_by(LedgerEntry.id)
        )
    ]
    (transaction_id,) = _write(
        session,
        reward.workspace_id,
        [
            (
                {"reward_id": reward.id, "kind": REVERSAL, "reverses_id": award_id},
                ledger.reversal_postings(original),
            )
        ],
        now,
    )
    return transaction_id


def customer_balances(session: DbSession, workspace_id: int, customer_id: int) -> dict[str, int]:
    """Unit -> the sum of the customer's reward account entries."""
    rows = session.execute(
        select(LedgerAccount.unit, func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .where(
            LedgerAccount.workspace_id == workspace_id,
            LedgerAccount.customer_id == customer_id,
            LedgerAccount.kind == CUSTOMER_REWARDS,
        )
        .group_by(LedgerAccount.unit)
        .order_by(LedgerAccount.unit)
    )
    return {unit: int(total) for unit, total in rows}
