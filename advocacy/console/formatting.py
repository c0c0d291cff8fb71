"""Jinja filters for figures on console pages: money in minor units, counts, ratios."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from markupsafe import Markup

# Currencies whose minor unit is not a hundredth (ISO 4217 exponents).
_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "JOD": 3}


def money(amount: Any, currency: str | None) -> str:
    """``12345, "EUR"`` -> ``EUR 123.45``; points (no currency) as a count."""
    if amount is None:
        return "–"
    if not currency:
        return f"{int(amount):,} points"
    exponent = _EXPONENTS.get(currency.upper(), 2)
    return f"{currency.upper()} {int(amount) / 10**exponent:,.{exponent}f}"


def number(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and digits:
        return f"{value:,.{digits}f}"
    return f"{round(value):,}" if not digits else f"{value:,.{digits}f}"


def percent(value: Any) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def change(current: Any, previous: Any) -> Markup:
    """The change against the previous period, in words a screen reader reads well."""
    if current is None or previous is None:
        return Markup('<span class="change">no comparison</span>')
    if previous == 0:
        text = "new" if current else "no change"
        return Markup('<span class="change">{}</span>').format(text)
    delta = (current - previous) / abs(previous)
    direction = "up" if delta > 0 else "down" if delta < 0 else "flat"
    words = {"up": "▲ up", "down": "▼ down", "flat": "no change"}[direction]
    return Markup('<span class="change change-{}">{} {:.0f}%</span>').format(
        direction, words, abs(delta) * 100
    )


def when(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


FILTERS = {"money": money, "number": number, "percent": percent, "change": change, "when": when}
