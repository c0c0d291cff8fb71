"""Ledger maths and reward rules on plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from advocacy.rewards import ledger, rules
from advocacy.rewards.ledger import Posting, UnbalancedTransaction


def test_an_award_moves_the_amount_from_the_budget_to_the_customer():
    assert ledger.award_postings(campaign_id=3, customer_id=7, unit="EUR", amount=1000) == [
        Posting("campaign:3:EUR", -1000),
        Posting("customer:7:EUR", 1000),
    ]


def test_a_reversal_negates_every_posting_and_balances():
    original = ledger.award_postings(campaign_id=3, customer_id=7, unit="EUR", amount=1000)
    reversal = ledger.reversal_postings(original)
    ledger.check_balanced(reversal)
    assert (
        ledger.balance(p.amount for p in original + reversal if p.account == "customer:7:EUR") == 0
    )


def test_unbalanced_postings_are_refused():
    with pytest.raises(UnbalancedTransaction):
        ledger.check_balanced([Posting("a", 5), Posting("b", -4)])


def test_a_single_posting_is_refused():
    with pytest.raises(UnbalancedTransaction):
        ledger.check_balanced([Posting("a", 0)])


def test_float_amounts_are_refused():
    with pytest.raises(UnbalancedTransaction):
        ledger.check_balanced([Posting("a", 0.5), Posting("b", -0.5)])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("pending", "held", True),
        ("pending", "approved", True),
        ("pending", "rejected", True),
        ("held", "approved", True),
        ("held", "rejected", True),
        ("approved", "issued", True),
        ("approved", "reversed", True),
        ("issued", "reversed", True),
        ("held", "pending", False),
        ("approved", "rejected", False),
        ("issued", "approved", False),
        ("rejected", "approved", False),
        ("reversed", "issued", False),
        ("pending", "issued", False),
    ],
)
def test_state_machine(current, target, allowed):
    assert rules.can_transition(current, target) is allowed


def test_final_states_have_no_way_out():
    assert all(not rules.TRANSITIONS[state] for state in rules.FINAL)


def test_a_refund_rejects_unbooked_rewards_and_reverses_booked_ones():
    assert [rules.undo_state(s) for s in rules.STATES] == [
        "rejected",
        "rejected",
        "reversed",
        "reversed",
        None,
        None,
    ]


def test_full_refund_reverses():
    assert rules.refund_reverses(order_amount=5000, refunded_amount=5000, min_order_amount=0)


def test_partial_refund_keeping_the_minimum_does_not_reverse():
    assert not rules.refund_reverses(order_amount=5000, refunded_amount=1000, min_order_amount=4000)


def test_partial_refund_below_the_minimum_reverses():
    assert rules.refund_reverses(order_amount=5000, refunded_amount=1001, min_order_amount=4000)


def test_partial_refund_without_a_minimum_does_not_reverse():
    assert not rules.refund_reverses(order_amount=5000, refunded_amount=4999, min_order_amount=0)


def test_return_window_ends_hold_days_after_the_conversion():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert rules.approve_after(at, 14) == at + timedelta(days=14)


def test_points_have_their_own_unit():
    assert rules.unit(None) == "points"
    assert rules.unit("EUR") == "EUR"
