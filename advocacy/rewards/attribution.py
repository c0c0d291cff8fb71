"""Which advocate a conversion is owed to: pure rules over the touches found for it.

Evidence is ranked: the explicit ``ref`` token from the landing URL, then the visitor's
attribution cookie or visitor id (one tier: the cookie names a click, the visitor id finds
clicks), then a personal invitation addressed to the invitee's email or customer id, and
last an earlier referral of the same customer (their sign-up was attributed, now they
buy). The first tier with a touch inside its campaign's attribution window wins. Within
that tier, the campaign of the most recent touch is chosen, and its attribution model
picks the touch: the last click by default, the first when the campaign says so.

No Flask or SQLAlchemy here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

TIERS: dict[str, int] = {
    "ref": 0,
    "cookie": 1,
    "visitor": 1,
    "invitation": 2,
    "prior_referral": 3,
}
# A cookie and a visitor id may find the same click: the cookie is the better name for it.
_EVIDENCE_PREFERENCE = {"ref": 0, "cookie": 0, "visitor": 1, "invitation": 0, "prior_referral": 0}

NO_EVIDENCE = "no_evidence"
OUTSIDE_WINDOW = "outside_attribution_window"


@dataclass(frozen=True)
class Touch:
    """One piece of evidence tying the conversion to an advocate's link."""

    evidence: str
    campaign_id: int
    link_id: int
    advocate_id: int
    touched_at: datetime
    window_days: int
    model: str  # last_click | first_click
    click_id: int | None = None


@dataclass(frozen=True)
class Attribution:
    touch: Touch | None
    reason: str | None  # why not attributed, when touch is None


def in_window(touch: Touch, occurred_at: datetime) -> bool:
    """The conversion happened at or after the touch, at most ``window_days`` later
    (both ends included)."""
    return touch.touched_at <= occurred_at <= touch.touched_at + timedelta(days=touch.window_days)


def _pick(candidates: Sequence[Touch]) -> Touch:
    def recency(t: Touch) -> tuple[datetime, int, int]:
        return (t.touched_at, -_EVIDENCE_PREFERENCE[t.evidence], t.click_id or 0)

    latest = max(candidates, key=recency)
    same_campaign = [t for t in candidates if t.campaign_id == latest.campaign_id]
    if latest.model == "first_click":
        return min(
            same_campaign,
            key=lambda t: (t.touched_at, _EVIDENCE_PREFERENCE[t.evidence], t.click_id or 0),
        )
    return latest


def attribute(
    touches: Iterable[Touch], occurred_at: datetime, problems: Sequence[str] = ()
) -> Attribution:
    """The winning touch, or why there is none.

    ``problems`` are reasons found while gathering evidence (an invalid ``ref``, say); the
    first one explains a conversion that no touch could be attributed to.
    """
    touches = list(touches)
    for tier in sorted({TIERS[t.evidence] for t in touches}):
        candidates = [t for t in touches if TIERS[t.evidence] == tier and in_window(t, occurred_at)]
        if candidates:
            return Attribution(_pick(candidates), None)
    if touches:
        return Attribution(None, OUTSIDE_WINDOW)
    return Attribution(None, problems[0] if problems else NO_EVIDENCE)
