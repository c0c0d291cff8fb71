"""Simulated brands for bench/ranking_quality.py: observable signals over a hidden truth.

Every customer has a hidden *attitude* toward the brand (normal; below -0.5 they dislike
it) and a hidden *willingness* to share when asked. What the ranking sees are noisy
consequences: CRM events (mostly driven by a nuisance "activity" factor), NPS answers,
reviews and mentions (driven by attitude, many people say nothing), and interaction
counts on social ties (Poisson around a hidden tie strength). Follower counts are
heavy-tailed and unrelated to either.

The truth: advocate ``u`` makes listener ``v`` buy with probability

    P(u, v) = willingness(u) * persuasion(u) * (1 - exp(-tie / 1.5)) * buys(v)

with ``persuasion = max(0, tanh(attitude))`` (a lukewarm message persuades nobody) and
``buys(v) = 0.1 + 0.3 * sigmoid(attitude(v))``. An advocate with a negative attitude puts
off each listener with probability ``0.5 * willingness * land * -tanh(attitude)``, counted
against the campaign. The
score of a set is exact (no Monte Carlo): expected distinct buyers minus those put off.
The oracle knows all of it and picks greedily on that very score.

Worlds (each built to break an assumption):
- ``baseline``: sociable people are a little more enthusiastic;
- ``audience_uncorrelated``: audience size is independent of attitude and willingness;
- ``lukewarm_gate_passers``: a fifth of the customers are lukewarm or slightly negative
  (passing the detractor gate), and they have the biggest audiences;
- ``follow_only``: a tenth have huge follow-only audiences (and follower counts) of people
  who never interact;
- ``overlapping_groups``: fans cluster in cliques whose members all reach the same
  people, so the best individuals are redundant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from advocacy.graph.inputs import DAY, EVENT_KIND_CODES, RankingInput
from advocacy.graph.selection import select_advocates

NOW = 1_750_000_000.0
WORLDS = (
    "baseline",
    "audience_uncorrelated",
    "lukewarm_gate_passers",
    "follow_only",
    "overlapping_groups",
)


@dataclass
class World:
    name: str
    observed: RankingInput
    attitude: np.ndarray
    willingness: np.ndarray
    activity: np.ndarray  # the nuisance factor behind CRM activity (and part of willingness)
    tie_source: np.ndarray  # listener
    tie_target: np.ndarray  # advocate
    tie_strength: np.ndarray
    followers: np.ndarray

    @property
    def n(self) -> int:
        return int(self.attitude.size)

    def truth(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(advocate, listener, P(buys), P(put off)) per true tie."""
        land = 1.0 - np.exp(-self.tie_strength / 1.5)
        u, v = self.tie_target, self.tie_source
        persuasion = np.maximum(np.tanh(self.attitude[u]), 0.0)
        buys = 0.1 + 0.3 / (1.0 + np.exp(-self.attitude[v]))
        good = self.willingness[u] * persuasion * land * buys
        bad = 0.5 * land * self.willingness[u] * np.maximum(-np.tanh(self.attitude[u]), 0.0)
        return u, v, good, bad


def evaluate(world: World, seeds: np.ndarray) -> float:
    """Expected distinct buyers among the seeds' listeners, minus the people put off."""
    u, v, good, bad = world.truth()
    chosen = np.zeros(world.n, dtype=bool)
    chosen[np.asarray(seeds, dtype=np.int64)] = True
    mask = chosen[u]
    missed = np.ones(world.n)
    np.multiply.at(missed, v[mask], 1.0 - good[mask])
    touched = np.zeros(world.n, dtype=bool)
    touched[v[mask]] = True
    return float((1.0 - missed[touched]).sum() - bad[mask].sum())


def oracle(world: World, k: int) -> np.ndarray:
    """Greedy on the true score (lazy evaluation would give the same set)."""
    u, v, good, _ = world.truth()
    order = np.argsort(u, kind="stable")
    u, v, good = u[order], v[order], good[order]
    ptr = np.searchsorted(u, np.arange(world.n + 1))
    missed = np.ones(world.n)
    allowed = world.attitude > 0
    gains = np.bincount(u, weights=good, minlength=world.n)
    chosen: list[int] = []
    for _ in range(k):
        gains = np.where(allowed, gains, -1.0)
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        chosen.append(best)
        allowed[best] = False
        lo, hi = ptr[best], ptr[best + 1]
        missed[v[lo:hi]] *= 1.0 - good[lo:hi]
        # Recompute gains of advocates who share a listener with the chosen one.
        touched = np.zeros(world.n, dtype=bool)
        touched[v[lo:hi]] = True
        affected = np.unique(u[touched[v]])
        for a in affected.tolist():
            a_lo, a_hi = ptr[a], ptr[a + 1]
            gains[a] = float(np.dot(missed[v[a_lo:a_hi]], good[a_lo:a_hi]))
    return np.array(chosen, dtype=np.int64)


def observable_ceiling(world: World, measured: tuple[np.ndarray, np.ndarray], k: int) -> np.ndarray:
    """Greedy on the expected true score given what can be observed: a yardstick.

    This chooser knows the world's laws (willingness as a function of attitude and
    activity, the true ties, who buys, the harm), every customer's activity and how
    attitudes are distributed within each tenth of the customers by true audience size; of
    each customer's own attitude it knows only the noisy measurements the ranking reads
    (``measured``: their precision and precision-weighted sum, the ranking's measurement
    model). Its share of the oracle is about the most any ranking of these signals can
    expect, so a gap to it is the model's to close and the rest is missing information.
    """
    precision, total = measured
    u, v, _, _ = world.truth()
    land = 1.0 - np.exp(-world.tie_strength / 1.5)
    buys = 0.1 + 0.3 / (1.0 + np.exp(-world.attitude[v]))
    grid = np.linspace(-3.5, 3.5, 141)
    reach = np.bincount(u, weights=land, minlength=world.n)
    tenth = np.searchsorted(np.quantile(reach, np.linspace(0, 1, 11)[1:-1]), reach, side="right")
    prior = np.full((10, grid.size), 1e-6)
    np.add.at(prior, (tenth, np.clip(np.searchsorted(grid, world.attitude), 0, grid.size - 1)), 1)
    observed = np.divide(total, precision, out=np.zeros(world.n), where=precision > 0)
    post = prior[tenth] * np.exp(-0.5 * precision[:, None] * (observed[:, None] - grid) ** 2)
    post /= post.sum(axis=1, keepdims=True)
    will = _willingness(grid[None, :], world.activity[:, None])
    good = (post * will * np.maximum(np.tanh(grid), 0.0)).sum(axis=1)
    bad = (post * will * np.maximum(-np.tanh(grid), 0.0)).sum(axis=1)
    prob = sp.csr_array((np.minimum(good[u] * land * buys, 1.0), (u, v)), shape=(world.n,) * 2)
    prob.sum_duplicates()
    value = np.asarray(prob.sum(axis=1)).ravel() - 0.5 * reach * bad
    allowed = np.ones(world.n, dtype=bool)
    return np.array(select_advocates(prob, value, allowed, k, "coverage").indices, dtype=np.int64)


def _willingness(attitude: np.ndarray, activity: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(0.8 * attitude + 0.5 * np.log(activity) - 0.3)))


def build_world(name: str, n: int, seed: int) -> World:
    if name not in WORLDS:
        raise ValueError(f"unknown world {name!r}")
    rng = np.random.default_rng(seed)
    attitude = rng.normal(0.0, 1.0, n)
    activity = rng.lognormal(0.0, 0.6, n)  # nuisance: buys a lot, whatever they think
    willingness = _willingness(attitude, activity)
    sociability = rng.lognormal(0.0, 0.7, n)
    if name == "baseline":
        sociability *= np.exp(0.3 * attitude)
    if name == "lukewarm_gate_passers":
        lukewarm = rng.random(n) < 0.2
        attitude[lukewarm] = rng.uniform(-0.5, 0.15, int(lukewarm.sum()))
        sociability[lukewarm] *= 5.0
    followers = np.floor((rng.pareto(1.1, n) + 1) * 20).astype(np.int64)
    source, target, strength = _ties(name, attitude, sociability, rng)
    follow_source, follow_target = _follow_only(name, followers, source.size, rng)
    observed_ties = _observe_ties(source, target, strength, follow_source, follow_target, rng)
    observed = RankingInput(
        n=n,
        now=NOW,
        followers=followers,
        **_crm(attitude, activity, rng),
        **_mentions(attitude, rng),
        **observed_ties,
    )
    return World(
        name,
        observed,
        attitude,
        willingness,
        activity,
        np.concatenate([source, follow_source]),
        np.concatenate([target, follow_target]),
        np.concatenate([strength, np.full(follow_source.size, 0.05)]),
        followers,
    )


def _ties(
    name: str, attitude: np.ndarray, sociability: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Listener -> advocate ties: communities of 15-120, most ties inside one."""
    n = attitude.size
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(int(rng.integers(15, 120)))
    community = rng.permutation(np.repeat(np.arange(len(sizes)), sizes)[:n])
    degree = rng.poisson(8.0 * sociability)
    target = np.repeat(np.arange(n), degree)  # the advocate being listened to
    local = rng.random(target.size) < 0.85
    members = np.argsort(community, kind="stable")
    start = np.searchsorted(community[members], np.arange(len(sizes)))
    size = np.bincount(community, minlength=len(sizes))
    c = community[target]
    source = np.where(local, members[start[c] + rng.integers(0, 1 << 30, target.size) % size[c]], 0)
    source[~local] = rng.integers(0, n, int((~local).sum()))
    if name == "overlapping_groups":
        source, target = _cliques(attitude, source, target, rng)
    keep = source != target
    source, target = source[keep], target[keep]
    strength = rng.gamma(1.0, 1.0, source.size)
    return source, target, strength


def _cliques(
    attitude: np.ndarray, source: np.ndarray, target: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Groups of 12 fans, each group reached by one shared audience of 40 people."""
    n = attitude.size
    fans = np.flatnonzero(attitude > 0.8)
    rng.shuffle(fans)
    groups = fans[: (fans.size // 12) * 12].reshape(-1, 12)
    extra_s, extra_t = [], []
    for group in groups[: max(1, len(groups) // 2)]:
        audience = rng.choice(n, 40, replace=False)
        extra_s.append(np.tile(audience, group.size))
        extra_t.append(np.repeat(group, audience.size))
    return (
        np.concatenate([source, *extra_s]),
        np.concatenate([target, *extra_t]),
    )


def _follow_only(
    name: str, followers: np.ndarray, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    n = followers.size
    if name == "follow_only":
        stars = rng.random(n) < 0.1
        followers[stars] *= 50
        total = count * 2
    else:
        total = count // 3
    target = rng.choice(n, total, p=followers / followers.sum())
    source = rng.integers(0, n, total)
    keep = source != target
    return source[keep], target[keep]


def _observe_ties(
    source: np.ndarray,
    target: np.ndarray,
    strength: np.ndarray,
    follow_source: np.ndarray,
    follow_target: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    m, f = source.size, follow_source.size
    scale = np.concatenate([strength, np.zeros(f)])
    days = rng.exponential(60.0, m + f) / np.maximum(scale, 0.2)
    return {
        "c_source": np.concatenate([source, follow_source]),
        "c_target": np.concatenate([target, follow_target]),
        "c_replies": rng.poisson(1.2 * scale),
        "c_likes": rng.poisson(3.0 * scale),
        "c_shares": rng.poisson(0.3 * scale),
        "c_messages": rng.poisson(0.5 * scale),
        "c_follows": np.concatenate([rng.random(m) < 0.6, np.ones(f, dtype=bool)]),
        "c_last_time": NOW - days * DAY,
    }


def _crm(
    attitude: np.ndarray, activity: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    n = attitude.size
    codes = EVENT_KIND_CODES
    parts: list[tuple[np.ndarray, int, np.ndarray, float]] = []

    def add(counts: np.ndarray, code: int, horizon: float, values: np.ndarray | None = None):
        who = np.repeat(np.arange(n), counts)
        vals = np.full(who.size, np.nan) if values is None else values[who]
        parts.append((who, code, vals, horizon))

    add(rng.poisson(3.0 * activity * np.exp(0.3 * attitude)), codes["purchase"], 730)
    add(rng.poisson(6.0 * activity), codes["login"], 365)
    add(rng.poisson(2.0 * activity), codes["email_click"], 365)
    review = np.clip(np.rint(3.3 + 1.1 * attitude + rng.normal(0, 0.8, n)), 1, 5)
    add(rng.poisson(0.4 * np.exp(0.3 * np.abs(attitude))), codes["review"], 730, review)
    nps = np.clip(np.rint(7.0 + 2.0 * attitude + rng.normal(0, 1.3, n)), 0, 10)
    answered = (rng.random(n) < 0.45).astype(np.int64) * rng.integers(1, 3, n)
    add(answered, codes["nps"], 365, nps)
    who = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([np.full(p[0].size, p[1]) for p in parts])
    value = np.concatenate([p[2] for p in parts])
    days = np.concatenate([rng.uniform(0, p[3], p[0].size) for p in parts])
    amount = np.where(kind == codes["purchase"], rng.lognormal(8.0, 0.7, who.size), np.nan)
    return {
        "ev_customer": who,
        "ev_kind": kind,
        "ev_value": value,
        "ev_amount": amount,
        "ev_time": NOW - days * DAY,
    }


def _mentions(attitude: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = attitude.size
    vocal = rng.lognormal(-0.3, 1.0, n)  # some people post a lot, many rarely
    who = np.repeat(np.arange(n), rng.poisson(vocal * (1.0 + np.abs(attitude))))
    return {
        "m_customer": who,
        "m_sentiment": np.tanh(0.9 * attitude[who] + rng.normal(0, 0.5, who.size)),
        "m_time": NOW - rng.uniform(0, 365, who.size) * DAY,
    }
