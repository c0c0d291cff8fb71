"""Experiment rules on plain values: what a campaign allows its variants to offer.

No Flask or SQLAlchemy here. The API schema has already checked each reward's shape (kind,
amount in minor units, currency for money, none for points, one side at least).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SIDES = ("inviter", "invitee")


def variant_problems(
    variants: Sequence[Mapping[str, Any]], *, currency: str | None, disclosed: bool
) -> dict[str, list[str]]:
    """Field messages (``variants.<i>.<side>_reward...``) for variants a campaign refuses.

    - Money rewards are in the campaign's currency, so the variants' costs and revenues
      compare in one currency (as the KPIs report them).
    - A variant rewarding the inviter needs the campaign's disclosure, as the campaign does.
    """
    problems: dict[str, list[str]] = {}
    for index, variant in enumerate(variants):
        for side in SIDES:
            reward = variant.get(f"{side}_reward")
            if reward is None:
                continue
            field = f"variants.{index}.{side}_reward"
            money = reward.get("currency")
            if money is not None and currency is not None and money != currency:
                problems[f"{field}.currency"] = [
                    f"Must be the campaign's currency, {currency}: variants are compared in it."
                ]
            if side == "inviter" and not disclosed:
                problems[field] = [
                    "The campaign has no disclosure: rewarding the inviter needs one "
                    "(set the campaign's disclosure first)."
                ]
    return problems
