"""What a campaign allows its variants to offer: plain values, no database."""

from __future__ import annotations

from advocacy.experiments.rules import variant_problems

EUR = {"kind": "credit", "amount": 1000, "currency": "EUR"}
POINTS = {"kind": "points", "amount": 500, "currency": None}


def test_variants_in_the_campaigns_currency_are_fine() -> None:
    variants = [
        {"inviter_reward": EUR, "invitee_reward": None},
        {"inviter_reward": POINTS, "invitee_reward": EUR},
    ]
    assert variant_problems(variants, currency="EUR", disclosed=True) == {}


def test_money_in_another_currency_is_named_by_its_field() -> None:
    variants = [{"inviter_reward": EUR, "invitee_reward": {**EUR, "currency": "GBP"}}]
    assert list(variant_problems(variants, currency="EUR", disclosed=True)) == [
        "variants.0.invitee_reward.currency"
    ]


def test_a_points_only_campaign_takes_money_in_any_currency() -> None:
    variants = [{"inviter_reward": {**EUR, "currency": "GBP"}, "invitee_reward": None}]
    assert variant_problems(variants, currency=None, disclosed=True) == {}


def test_an_inviter_reward_needs_a_disclosure() -> None:
    variants = [
        {"inviter_reward": POINTS, "invitee_reward": None},
        {"inviter_reward": None, "invitee_reward": EUR},
    ]
    assert list(variant_problems(variants, currency="EUR", disclosed=False)) == [
        "variants.0.inviter_reward"
    ]
