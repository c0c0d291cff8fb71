"""Fraud and eligibility rules on plain facts: each finding and what it does."""

from __future__ import annotations

from advocacy.customers.emails import normalize_email
from advocacy.rewards import fraud
from advocacy.rewards.fraud import HELD, PENDING, REJECTED, Identity, Limits, Order


def identity(**changes):
    values = {"advocate_id": 1, "invitee_id": 2}
    values.update(changes)
    return Identity(**values)


def order(**changes):
    values = {
        "event": "purchase",
        "amount": 5000,
        "min_order_amount": 0,
        "first_purchase_only": False,
        "campaign_live": True,
        "purchased_before_touch": False,
        "purchased_before": False,
    }
    values.update(changes)
    return Order(**values)


def limits(**changes):
    values = {
        "reward_total": 2500,
        "budget_remaining": None,
        "per_advocate_cap": None,
        "advocate_rewarded_referrals": 0,
        "advocate_referrals_last_day": 0,
        "velocity_limit": 10,
        "invitee_already_rewarded": False,
    }
    values.update(changes)
    return Limits(**values)


def reasons(findings):
    return [(f.reason, f.action) for f in findings]


def test_a_clean_referral_has_no_findings():
    assert (
        fraud.check_identity(identity()) + fraud.check_order(order()) + fraud.check_limits(limits())
        == []
    )


def test_same_customer_is_rejected():
    assert reasons(fraud.check_identity(identity(invitee_id=1))) == [
        ("self_referral_customer", "reject")
    ]


def test_plus_tag_email_is_the_same_person():
    found = fraud.check_identity(
        identity(
            advocate_emails=frozenset({normalize_email("ann@example.com")}),
            invitee_emails=frozenset({normalize_email("Ann+friend@Example.com")}),
        )
    )
    assert reasons(found) == [("self_referral_email", "reject")]


def test_gmail_dots_are_the_same_person():
    found = fraud.check_identity(
        identity(
            advocate_emails=frozenset({normalize_email("ann.smith@gmail.com")}),
            invitee_emails=frozenset({normalize_email("a.n.n.s.m.i.t.h@googlemail.com")}),
        )
    )
    assert reasons(found) == [("self_referral_email", "reject")]


def test_dots_matter_where_the_provider_keeps_them():
    found = fraud.check_identity(
        identity(
            advocate_emails=frozenset({normalize_email("ann.smith@example.com")}),
            invitee_emails=frozenset({normalize_email("annsmith@example.com")}),
        )
    )
    assert found == []


def test_same_visitor_id_is_rejected():
    found = fraud.check_identity(
        identity(advocate_visitor_ids=frozenset({"v-123"}), invitee_visitor_id="v-123")
    )
    assert reasons(found) == [("self_referral_visitor", "reject")]


def test_same_ip_hash_and_user_agent_is_held():
    device = ("iphash", "Mozilla/5.0")
    found = fraud.check_identity(
        identity(advocate_devices=frozenset({device}), invitee_device=device)
    )
    assert reasons(found) == [("self_referral_device", "hold")]


def test_same_ip_hash_with_another_user_agent_is_fine():
    found = fraud.check_identity(
        identity(
            advocate_devices=frozenset({("iphash", "Mozilla/5.0")}),
            invitee_device=("iphash", "Other/1.0"),
        )
    )
    assert found == []


def test_a_customer_before_the_click_is_rejected():
    assert reasons(fraud.check_order(order(purchased_before_touch=True))) == [
        ("existing_customer", "reject")
    ]


def test_first_purchase_only_rejects_a_repeat_buyer():
    found = fraud.check_order(order(first_purchase_only=True, purchased_before=True))
    assert reasons(found) == [("not_first_purchase", "reject")]


def test_a_repeat_buyer_is_fine_without_first_purchase_only():
    assert fraud.check_order(order(purchased_before=True)) == []


def test_below_min_order_is_rejected():
    assert reasons(fraud.check_order(order(amount=999, min_order_amount=1000))) == [
        ("below_min_order", "reject")
    ]


def test_exactly_min_order_is_fine():
    assert fraud.check_order(order(amount=1000, min_order_amount=1000)) == []


def test_a_signup_has_no_order_minimum():
    assert fraud.check_order(order(event="signup", amount=None, min_order_amount=1000)) == []


def test_an_inactive_campaign_is_rejected():
    assert reasons(fraud.check_order(order(campaign_live=False))) == [
        ("campaign_not_active", "reject")
    ]


def test_disposable_domains_come_from_the_maintained_list():
    assert fraud.is_disposable("mailinator.com")
    assert fraud.is_disposable("sub.mailinator.com")
    assert not fraud.is_disposable("example.com")


def test_a_disposable_invitee_email_is_rejected():
    found = fraud.check_order(order(invitee_email_domains=frozenset({"mailinator.com"})))
    assert reasons(found) == [("disposable_email", "reject")]


def test_budget_exhausted_is_rejected():
    assert reasons(fraud.check_limits(limits(budget_remaining=2499))) == [
        ("budget_exhausted", "reject")
    ]


def test_exactly_the_remaining_budget_is_fine():
    assert fraud.check_limits(limits(budget_remaining=2500)) == []


def test_cap_reached_is_rejected():
    found = fraud.check_limits(limits(per_advocate_cap=3, advocate_rewarded_referrals=3))
    assert reasons(found) == [("advocate_cap_reached", "reject")]


def test_below_the_cap_is_fine():
    assert fraud.check_limits(limits(per_advocate_cap=3, advocate_rewarded_referrals=2)) == []


def test_velocity_holds_for_review():
    found = fraud.check_limits(limits(velocity_limit=5, advocate_referrals_last_day=5))
    assert reasons(found) == [("velocity", "hold")]


def test_an_invitee_rewarded_before_is_rejected():
    assert reasons(fraud.check_limits(limits(invitee_already_rewarded=True))) == [
        ("invitee_already_rewarded", "reject")
    ]


def test_verdict_rejects_before_it_holds():
    findings = [fraud.Finding("velocity", "hold"), fraud.Finding("below_min_order", "reject")]
    assert fraud.verdict(findings) == (REJECTED, ["below_min_order", "velocity"])


def test_verdict_holds_without_rejections():
    assert fraud.verdict([fraud.Finding("velocity", "hold")]) == (HELD, ["velocity"])


def test_verdict_is_pending_without_findings():
    assert fraud.verdict([]) == (PENDING, [])
