"""How the Campaigns, Review and Listening pages write money, times and audited values."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint

from advocacy.web import messages


def minor_money(amount: int | None, currency: str | None) -> str:
    """Minor units as the invitation page writes money (€12.50); points as a number."""
    if amount is None:
        return "–"
    if not currency:
        return f"{amount:,}"
    return messages.money(amount, currency, messages.DEFAULT_LANGUAGE)


def major_units(amount: int, currency: str | None) -> float:
    """The number a chart plots for an amount of money (12.5 for 1250 cents)."""
    return amount / 10 ** messages.decimals(currency) if currency else float(amount)


def in_zone(moment: datetime | None, tz: str) -> str:
    """An instant as local time in the workspace's zone."""
    if moment is None:
        return "–"
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def audit_value(value: Any) -> str:
    """An audited value in words: rewards as "credit 1000 EUR", none as "–"."""
    if value is None or value == "":
        return "–"
    if isinstance(value, dict):
        if "kind" in value:
            return " ".join(str(value[k]) for k in ("kind", "amount", "currency") if value.get(k))
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def register(bp: Blueprint) -> None:
    """Make the helpers available to every template."""
    helpers: dict[str, Any] = {
        "minor_money": minor_money,
        "major_units": major_units,
        "in_zone": in_zone,
        "percent": percent,
        "number": number,
    }
    for name, helper in helpers.items():
        bp.add_app_template_global(helper, name)
    bp.add_app_template_filter(in_zone, "in_zone")
    bp.add_app_template_filter(audit_value, "audit_value")
