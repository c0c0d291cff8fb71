"""Time decay of evidence, and ages in plain words for reasons."""

from __future__ import annotations

import math

import numpy as np

from advocacy.graph.inputs import DAY


def decay(times: np.ndarray, now: float, half_life_days: float) -> np.ndarray:
    """Weight ``2 ** (-age / half_life)`` per timestamp: 1 now, 0.5 one half-life ago.

    Timestamps in the future (clock skew between systems) count as "now" rather than
    weighing more than fresh evidence. NaN times give NaN; callers decide what unknown means.
    """
    age_days = np.maximum(now - times, 0.0) / DAY
    return np.exp2(-age_days / half_life_days)


def age_days(time: float, now: float) -> float:
    return max(now - time, 0.0) / DAY


_UNITS = (
    # (seconds in the unit, singular phrase, plural noun)
    (365.0 * DAY, "a year ago", "years"),
    (30.0 * DAY, "a month ago", "months"),
    (7.0 * DAY, "a week ago", "weeks"),
    (DAY, "yesterday", "days"),
    (3600.0, "an hour ago", "hours"),
    (60.0, "a minute ago", "minutes"),
)


def humanize_age(seconds: float) -> str:
    """``3 weeks ago``, ``yesterday``, ``just now``: the largest unit that fits, rounded down.

    Rounding down keeps a 13-day-old answer "a week ago" rather than "2 weeks ago", which
    would overstate its age; months are 30 days. Negative ages (future) read as "just now".
    """
    if not math.isfinite(seconds) or seconds < 60.0:
        return "just now"
    for unit, singular, plural in _UNITS:
        count = int(seconds // unit)
        if count >= 1:
            return singular if count == 1 else f"{count} {plural} ago"
    return "just now"  # unreachable: seconds >= 60 always fits minutes
