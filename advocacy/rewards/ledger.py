"""Double-entry maths: postings, balance checks, reversals. Pure; no Flask or SQLAlchemy.

Every movement is a transaction of postings that sum to zero. Awarding a reward moves its
amount from the campaign's reward budget account to the customer's reward account; a
reversal is the same postings negated, in a new transaction linked to the original.
A balance is the sum of an account's postings, nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class UnbalancedTransaction(ValueError):
    """Postings that do not sum to zero (or are empty, or not whole units)."""


@dataclass(frozen=True)
class Posting:
    account: str  # an account code: "campaign:<id>:<unit>" or "customer:<id>:<unit>"
    amount: int  # signed minor units (or points); never a float


def campaign_account(campaign_id: int, unit: str) -> str:
    return f"campaign:{campaign_id}:{unit}"


def customer_account(customer_id: int, unit: str) -> str:
    return f"customer:{customer_id}:{unit}"


def check_balanced(postings: Sequence[Posting]) -> None:
    if len(postings) < 2:
        raise UnbalancedTransaction("a transaction has at least two postings")
    for posting in postings:
        if isinstance(posting.amount, bool) or not isinstance(posting.amount, int):
            raise UnbalancedTransaction(f"amounts are integers, got {posting.amount!r}")
    total = sum(p.amount for p in postings)
    if total != 0:
        raise UnbalancedTransaction(f"postings sum to {total}, not 0")


def award_postings(*, campaign_id: int, customer_id: int, unit: str, amount: int) -> list[Posting]:
    """The campaign's budget pays the customer ``amount``."""
    postings = [
        Posting(campaign_account(campaign_id, unit), -amount),
        Posting(customer_account(customer_id, unit), amount),
    ]
    check_balanced(postings)
    return postings


def reversal_postings(original: Sequence[Posting]) -> list[Posting]:
    """What undoes ``original``: every posting negated."""
    check_balanced(original)
    return [Posting(p.account, -p.amount) for p in original]


def balance(amounts: Iterable[int]) -> int:
    return sum(amounts)
