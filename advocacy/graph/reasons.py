"""Reasons in plain words for one customer's score, written from computed facts.

Every component is 0.5 for a typical (or neutral) customer, so ``weight * (value - 0.5)``
says how much a component lifted or sank this customer's score. Reasons follow that order:
the components that mattered most speak first, each through the facts behind it ("NPS 10
3 weeks ago", "14 friends reply to their posts"). A gated customer's gate reason always
comes first. Only called for the customers actually shown, so plain Python is fine here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from advocacy.graph.components import Components
from advocacy.graph.inputs import DAY
from advocacy.graph.scoring import normalise_weights
from advocacy.graph.sentiment import GATE_NPS, GATE_RECENT, GATE_SENTIMENT
from advocacy.graph.timeutil import humanize_age

# Below this |value - 0.5| a component is unremarkable: its reasons come last.
_NOTABLE = 0.02


def explain(
    components: Components,
    i: int,
    weights: Mapping[str, float],
    *,
    now: float | None = None,
    max_reasons: int = 4,
) -> list[str]:
    """Up to ``max_reasons`` reasons for customer ``i``, gate reasons first."""
    now = components.now if now is None else now
    gate = _gate_reasons(components, i, now)
    weighted: list[tuple[float, int, str]] = []
    normalised = normalise_weights(weights)
    writers = {
        "engagement": _engagement,
        "sentiment": _sentiment,
        "influence": _influence,
        "reach": _reach,
        "track_record": _track_record,
    }
    for name, weight in normalised.items():
        # A gated customer's gate reasons already speak for their sentiment.
        if weight == 0 or (gate and name == "sentiment"):
            continue
        value = float(components.component(name)[i])
        # Unremarkable components still speak, after the remarkable ones, ordered by weight:
        # in a tiny workspace everyone active is "typical" and still deserves reasons.
        effect = max(abs(weight * (value - 0.5)), _NOTABLE * weight)
        for rank, text in enumerate(writers[name](components, i, now, value >= 0.5)):
            # A component's second phrase ranks below other components' first phrases.
            weighted.append((effect / (1 + rank), len(weighted), text))
    weighted.sort(key=lambda item: (-item[0], item[1]))
    reasons = gate + [text for _, _, text in weighted if text not in gate]
    return reasons[:max_reasons]


def explain_many(
    components: Components, indices: Iterable[int], weights: Mapping[str, float]
) -> dict[int, list[str]]:
    return {int(i): explain(components, int(i), weights) for i in indices}


def _gate_reasons(c: Components, i: int, now: float) -> list[str]:
    """The gate's evidence, most concrete first, without saying the same thing twice."""
    code = int(c.gate[i])
    s = c.sentiment_facts
    out = []
    if code & GATE_NPS:
        out.append(f"gated: NPS {s.latest_nps[i]} {humanize_age(now - s.latest_nps_time[i])}")
    negative_recent = int(s.mentions_negative_recent[i])
    # After another gate reason, a single mention adds little; two or more is a pattern.
    if code & GATE_RECENT and (negative_recent >= 2 or not out):
        window = _window(c.params.recent_window_days)
        if negative_recent:
            out.append(f"gated: {_count(negative_recent, 'negative mention')} in {window}")
        else:
            out.append(f"gated: negative feedback in {window}")
    negative, positive = int(s.mentions_negative[i]), int(s.mentions_positive[i])
    if code & GATE_SENTIMENT and not code & GATE_RECENT and (negative >= 2 or not out):
        if negative:
            out.append(
                f"gated: mostly negative ({_count(negative, 'negative mention')}"
                f" vs {positive:,} positive)"
            )
        else:
            out.append("gated: negative NPS and review history")
    return out


def _engagement(c: Components, i: int, now: float, positive: bool) -> list[str]:
    e = c.engagement_facts
    window = _window(c.params.facts_window_days)
    purchases, logins = int(e.purchases_recent[i]), int(e.logins_recent[i])
    last = float(e.last_activity_time[i])
    if positive:
        out = []
        if purchases:
            out.append(f"{_count(purchases, 'purchase')} in {window}")
        if logins >= 3 or (logins and not purchases):
            out.append(f"{_count(logins, 'login')} in {window}")
        if not out and math.isfinite(last):
            out.append(f"active {humanize_age(now - last)}")
        return out
    if not math.isfinite(last):
        return ["no CRM activity on record"]
    if now - last > c.params.facts_window_days * DAY:
        return [f"last active {humanize_age(now - last)}"]
    return [f"little activity in {window}"]


def _sentiment(c: Components, i: int, now: float, positive: bool) -> list[str]:
    s = c.sentiment_facts
    out = []
    nps, review = int(s.latest_nps[i]), int(s.latest_review[i])
    pos, neg = int(s.mentions_positive[i]), int(s.mentions_negative[i])
    if positive:
        if nps >= 9:
            out.append(f"NPS {nps} {humanize_age(now - s.latest_nps_time[i])}")
        if pos:
            recent = int(s.mentions_positive_recent[i])
            mostly_recent = ", mostly recent" if pos > 1 and 2 * recent > pos else ""
            out.append(f"{_count(pos, 'positive mention')}{mostly_recent}")
        if review >= 4:
            out.append(f"{review}-star review {humanize_age(now - s.latest_review_time[i])}")
        return out
    if 0 <= nps <= 8:
        out.append(f"NPS {nps} {humanize_age(now - s.latest_nps_time[i])}")
    if neg:
        out.append(f"{_count(neg, 'negative mention')} vs {pos} positive")
    if 1 <= review <= 3:
        out.append(f"{review}-star review {humanize_age(now - s.latest_review_time[i])}")
    if not out and s.evidence[i] == 0:
        out.append("no NPS, reviews or mentions yet")
    return out


def _influence(c: Components, i: int, now: float, positive: bool) -> list[str]:
    g = c.graph
    repliers, sharers, distrusters = int(g.repliers[i]), int(g.sharers[i]), int(g.distrusters[i])
    if positive:
        out = []
        if repliers:
            out.append(f"{_count(repliers, 'friend')} {_verb(repliers, 'reply')} to their posts")
        if sharers:
            out.append(f"shared by {_count(sharers, 'person', 'people')}")
        share_above = float(c.influence_facts.share_above[i])
        if share_above < 0.1 and c.influence[i] > 0:
            out.append(f"top {max(1, math.ceil(100 * share_above))}% for peer influence")
        return out
    if distrusters:
        return [f"distrusted by {_count(distrusters, 'person', 'people')}"]
    if not repliers:
        return ["nobody replies to their posts"]
    return [f"only {_count(repliers, 'friend')} {_verb(repliers, 'reply')} to their posts"]


def _reach(c: Components, i: int, now: float, positive: bool) -> list[str]:
    g = c.graph
    listeners, follow_only = int(g.listeners[i]), int(g.follow_only[i])
    followers = int(c.followers[i])
    if positive:
        # Expected reach also counts faint follow-only ties, so it can exceed the listeners.
        expected = float(g.expected_reach[i])
        out = [f"reaches about {_count(round(expected), 'person', 'people')} per message"]
        if listeners:
            people = _count(listeners, "person", "people")
            out.append(f"{people} {_verb(listeners, 'interact')} with them")
        if follow_only > listeners:
            out.append(f"{follow_only:,} more follow without interacting")
        return out
    if followers > 10 * max(listeners, 1):
        return [f"{followers:,} followers, but {_interacting(listeners)}"]
    return [_interacting(listeners)]


def _track_record(c: Components, i: int, now: float, positive: bool) -> list[str]:
    invites, clicks = int(c.invites[i]), int(c.clicks[i])
    conversions = int(c.conversions[i])
    if invites == 0 and clicks == 0:
        return []
    if positive:
        if conversions:
            return [f"{conversions:,} of {_count(invites, 'invitation')} converted"]
        return [f"{clicks:,} of {_count(invites, 'invitation')} clicked"]
    if clicks == 0:
        return [f"{_count(invites, 'invitation')}, none clicked"]
    return [f"{_count(invites, 'invitation')}, {conversions:,} converted"]


def _interacting(listeners: int) -> str:
    if listeners == 0:
        return "nobody interacts with them"
    return f"only {_count(listeners, 'person', 'people')} {_verb(listeners, 'interact')} with them"


def _count(count: int, singular: str, plural: str | None = None) -> str:
    noun = singular if count == 1 else (plural or singular + "s")
    return f"{count:,} {noun}"


def _verb(count: int, plural_form: str) -> str:
    """Present tense agreeing with ``count``: ``reply`` -> ``replies`` for one."""
    if count != 1:
        return plural_form
    return plural_form[:-1] + "ies" if plural_form.endswith("y") else plural_form + "s"


def _window(days: float) -> str:
    """``the last month``, ``the last 3 months``, ``the last week``."""
    if days % 30 == 0:
        months = int(days // 30)
        return "the last month" if months == 1 else f"the last {months} months"
    if days % 7 == 0:
        weeks = int(days // 7)
        return "the last week" if weeks == 1 else f"the last {weeks} weeks"
    return f"the last {days:g} days"
