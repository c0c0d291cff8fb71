"""Ranking quality on a simulated referral program.

    .venv/bin/python bench/ranking_quality.py [--seed S] [--customers N] [--k K] [--runs R]

The simulation gives every customer a hidden attitude toward the brand. Their observable
traces (purchases, logins, reviews, NPS answers, mentions, interactions with friends) are
noisy consequences of it, mixed with nuisance factors (some people just buy or post a lot);
follower counts are heavy-tailed and unrelated to it, and some loud critics have large
audiences. The ranking sees only the observable signals, never the hidden attitude.

A campaign with k seeds is then played out many times (Monte Carlo, seeded): each seed
invites the people who interact with them (and broadcasts to their followers); an invitee
accepts with a probability set by the seed's hidden propensity and their true tie strength,
then converts with a probability set by their own propensity; converted invitees pass the
invitation on once more, more weakly. A detractor's invitations convert nobody and turn
people off. We compare the seeds chosen by our ranking (conversion objective), by follower
count, at random, and by an oracle that knows every hidden propensity and tie.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from advocacy.graph.components import compute_components
from advocacy.graph.inputs import DAY, EVENT_KIND_CODES, RankingInput
from advocacy.graph.scoring import OBJECTIVE_WEIGHTS, rank_order, score
from advocacy.graph.selection import select_advocates

NOW = 1_750_000_000.0
TIE_SCALE = 1.5  # tie strength at which an invitation lands with probability 1 - 1/e
FOLLOW_ONLY_TIE = 0.05  # latent tie of a bare follower
BROADCAST_RATE = 0.0004  # conversions per follower per unit propensity from a public post
SECOND_HOP = 0.5  # a converted invitee passes the invitation on at half strength


@dataclass
class Program:
    """The simulated world: what the ranking sees (``observed``) and the hidden truth."""

    observed: RankingInput
    propensity: np.ndarray  # hidden: how persuasive an advocate this customer is
    detractor: np.ndarray  # hidden: actively negative about the brand
    conversion: np.ndarray  # hidden: chance to convert once they accept an invitation
    tie_source: np.ndarray  # true ties, source listens to target
    tie_target: np.ndarray
    tie_weight: np.ndarray  # hidden latent strength behind the observed interaction counts
    followers: np.ndarray


def simulate_program(n: int, rng: np.random.Generator) -> Program:
    attitude = rng.normal(size=n)
    propensity = 1.0 / (1.0 + np.exp(-(1.6 * attitude - 1.2)))
    detractor = attitude < -1.2
    activity = rng.lognormal(0.0, 0.6, n)  # nuisance: buys a lot, whatever they think

    events = _crm_events(attitude, activity, rng)
    mentions = _mentions(attitude, rng)
    ties = _social_graph(attitude, rng)

    followers = np.floor((rng.pareto(1.1, n) + 1) * 20).astype(np.int64)
    loud_critics = detractor & (rng.random(n) < 0.1)  # a few critics with big audiences
    followers[loud_critics] *= 10
    follow_source, follow_target = _follow_only_edges(followers, ties[0].size, rng)

    source = np.concatenate([ties[0], follow_source])
    target = np.concatenate([ties[1], follow_target])
    weight = np.concatenate([ties[2], np.full(follow_source.size, FOLLOW_ONLY_TIE)])
    observed = RankingInput(
        n=n,
        now=NOW,
        followers=followers,
        **events,
        **mentions,
        **_observe_ties(source, target, weight, ties[0].size, attitude, rng),
    )
    return Program(
        observed=observed,
        propensity=propensity,
        detractor=detractor,
        conversion=0.25 + 0.5 * propensity,
        tie_source=source,
        tie_target=target,
        tie_weight=weight,
        followers=followers,
    )


def _crm_events(
    attitude: np.ndarray, activity: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    n = attitude.size
    customer: list[np.ndarray] = []
    kind: list[np.ndarray] = []
    value: list[np.ndarray] = []
    amount: list[np.ndarray] = []
    days: list[np.ndarray] = []

    def add(
        counts: np.ndarray,
        code: int,
        horizon_days: float,
        values: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        who = np.repeat(np.arange(n), counts)
        customer.append(who)
        kind.append(np.full(who.size, code))
        value.append(np.full(who.size, np.nan) if values is None else values(who))
        amount.append(
            rng.lognormal(8.0, 0.7, who.size)
            if code == EVENT_KIND_CODES["purchase"]
            else np.full(who.size, np.nan)
        )
        days.append(rng.uniform(0, horizon_days, who.size))

    codes = EVENT_KIND_CODES
    add(rng.poisson(3.0 * activity * np.exp(0.5 * attitude)), codes["purchase"], 730)
    add(rng.poisson(6.0 * activity), codes["login"], 365)
    add(rng.poisson(2.0 * activity * np.exp(0.3 * attitude)), codes["email_click"], 365)
    add(
        rng.poisson(0.4 * np.exp(0.3 * np.abs(attitude))),
        codes["review"],
        730,
        lambda who: np.clip(
            np.rint(3.3 + 1.1 * attitude[who] + rng.normal(0, 0.8, who.size)), 1, 5
        ),
    )
    add(
        rng.poisson(0.5, n),
        codes["support_contact"],
        730,
        lambda who: np.clip(np.rint(3.5 + 0.6 * attitude[who] + rng.normal(0, 1, who.size)), 1, 5),
    )
    answered = (rng.random(n) < 0.45).astype(np.int64) * rng.integers(1, 3, n)
    add(
        answered,
        codes["nps"],
        365,
        lambda who: np.clip(
            np.rint(7.0 + 2.2 * attitude[who] + rng.normal(0, 1.3, who.size)), 0, 10
        ),
    )
    return {
        "ev_customer": np.concatenate(customer),
        "ev_kind": np.concatenate(kind),
        "ev_value": np.concatenate(value),
        "ev_amount": np.concatenate(amount),
        "ev_time": NOW - np.concatenate(days) * DAY,
    }


def _mentions(attitude: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = attitude.size
    vocal = rng.lognormal(-0.5, 1.0, n)  # nuisance: some people post about everything
    who = np.repeat(np.arange(n), rng.poisson(vocal * (1.0 + np.abs(attitude))))
    return {
        "m_customer": who,
        "m_sentiment": np.tanh(0.9 * attitude[who] + rng.normal(0, 0.6, who.size)),
        "m_time": NOW - rng.uniform(0, 365, who.size) * DAY,
    }


def _social_graph(
    attitude: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Communities of 15-120 people; most ties inside one. People seek out the sociable and
    the enthusiastic a little more, so interaction strength carries some signal."""
    n = attitude.size
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(int(rng.integers(15, 120)))
    community = rng.permutation(np.repeat(np.arange(len(sizes)), sizes)[:n])
    members = np.argsort(community, kind="stable")
    start = np.searchsorted(community[members], np.arange(len(sizes)))
    size = np.bincount(community, minlength=len(sizes))

    sociability = rng.lognormal(0.0, 0.7, n)
    appeal = sociability * np.exp(0.4 * attitude)
    degree = rng.poisson(8.0 * sociability)
    source = np.repeat(np.arange(n), degree)
    local = rng.random(source.size) < 0.85
    # Inside the community: pick members with probability ~ appeal (rejection sampling).
    target = np.empty(source.size, dtype=np.int64)
    pending = np.flatnonzero(local)
    while pending.size:
        c = community[source[pending]]
        pick = members[start[c] + rng.integers(0, size[c])]
        accept = rng.random(pending.size) < appeal[pick] / appeal.max()
        accept |= rng.random(pending.size) < 0.05  # guarantees progress
        target[pending[accept]] = pick[accept]
        pending = pending[~accept]
    far = np.flatnonzero(~local)
    target[far] = rng.choice(n, far.size, p=appeal / appeal.sum())
    keep = source != target
    source, target = source[keep], target[keep]
    weight = rng.gamma(1.0, 1.0, source.size) * np.sqrt(appeal[target] / appeal.mean())
    return source, target, weight


def _follow_only_edges(
    followers: np.ndarray, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Some of a customer's followers are also customers; they follow and never interact."""
    n = followers.size
    total = count // 2
    target = rng.choice(n, total, p=followers / followers.sum())
    source = rng.integers(0, n, total)
    keep = source != target
    return source[keep], target[keep]


def _observe_ties(
    source: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray,
    interacting: int,
    attitude: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Interaction counts are Poisson draws around the latent tie; follow-only edges have none."""
    m = source.size
    scale = np.where(np.arange(m) < interacting, weight, 0.0)
    tone_known = rng.random(m) < 0.4
    tone = np.tanh(0.6 * attitude[target] + 0.3 * attitude[source] + rng.normal(0, 0.5, m))
    days = rng.exponential(60.0, m) / np.maximum(scale, 0.2)
    return {
        "c_source": source,
        "c_target": target,
        "c_replies": rng.poisson(1.2 * scale),
        "c_likes": rng.poisson(3.0 * scale),
        "c_shares": rng.poisson(0.3 * scale),
        "c_messages": rng.poisson(0.5 * scale),
        "c_follows": (rng.random(m) < 0.6) | (np.arange(m) >= interacting),
        "c_sentiment": np.where(tone_known, tone, np.nan),
        "c_last_time": np.where(rng.random(m) < 0.9, NOW - days * DAY, np.nan),
    }


def simulate_campaign(program: Program, seeds: np.ndarray, runs: int, seed: int) -> float:
    """Mean number of distinct people converted (seeds excluded) over ``runs`` cascades."""
    rng = np.random.default_rng(seed)
    n = program.propensity.size
    land = 1.0 - np.exp(-program.tie_weight / TIE_SCALE)  # P(an invitation is taken seriously)
    by_target = np.argsort(program.tie_target, kind="stable")
    ptr = np.searchsorted(program.tie_target[by_target], np.arange(n + 1))
    is_seed = np.zeros(n, dtype=bool)
    is_seed[seeds] = True
    good = seeds[~program.detractor[seeds]]
    bad = seeds[program.detractor[seeds]]
    broadcast = BROADCAST_RATE * float(np.sum(program.followers[good] * program.propensity[good]))

    def audience(advocates: np.ndarray) -> np.ndarray:
        """Indices (into the tie arrays) of everyone listening to ``advocates``."""
        lo, hi = ptr[advocates], ptr[advocates + 1]
        lengths = hi - lo
        offsets = np.cumsum(lengths) - lengths
        return by_target[np.repeat(lo - offsets, lengths) + np.arange(int(lengths.sum()))]

    good_edges, bad_edges = audience(good), audience(bad)
    total = 0.0
    for _ in range(runs):
        blocked = is_seed.copy()
        # A detractor's invitation turns people off the brand for this campaign.
        turned_off = rng.random(bad_edges.size) < 0.5 * land[bad_edges]
        blocked[program.tie_source[bad_edges[turned_off]]] = True
        converted = np.zeros(n, dtype=bool)
        edges, strength = good_edges, 1.0
        for _hop in range(2):
            inviter = program.tie_target[edges]
            invitee = program.tie_source[edges]
            accept = rng.random(edges.size) < strength * program.propensity[inviter] * land[edges]
            convert = rng.random(edges.size) < program.conversion[invitee]
            new = np.unique(invitee[accept & convert & ~blocked[invitee] & ~converted[invitee]])
            converted[new] = True
            blocked[new] = True
            edges, strength = audience(new), SECOND_HOP
        total += converted.sum() + rng.poisson(broadcast)
    return total / runs


def oracle_seeds(program: Program, k: int) -> np.ndarray:
    """Knows every hidden propensity and tie: expected direct conversions per customer."""
    n = program.propensity.size
    land = 1.0 - np.exp(-program.tie_weight / TIE_SCALE)
    direct = np.bincount(
        program.tie_target,
        weights=land * program.conversion[program.tie_source],
        minlength=n,
    )
    expected = program.propensity * (direct + BROADCAST_RATE * program.followers)
    expected[program.detractor] = -1.0
    return np.argsort(-expected, kind="stable")[:k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()

    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    program = simulate_program(args.customers, rng)
    inp = program.observed
    print(
        f"simulated program: {inp.n:,} customers, {inp.ev_customer.size:,} CRM events, "
        f"{inp.m_customer.size:,} mentions, {inp.c_source.size:,} connections, "
        f"{program.detractor.mean():.0%} hidden detractors (seed {args.seed})"
    )

    ranking_started = time.perf_counter()
    components = compute_components(inp)
    weights = OBJECTIVE_WEIGHTS["conversion"]
    scores = score(components, weights)
    ours_top = rank_order(scores, components.eligible, top=args.k)
    ours_coverage = np.array(
        select_advocates(
            components.graph,
            scores,
            components.eligible,
            args.k,
            "coverage",
            detractor=components.detractor,
            quality=scores,
        ).indices
    )
    ranking_seconds = time.perf_counter() - ranking_started
    strategies = {
        "ours: top (conversion)": ours_top,
        "ours: coverage (conversion)": ours_coverage,
        "follower count": np.argsort(-program.followers, kind="stable")[: args.k],
        "random": rng.choice(inp.n, args.k, replace=False),
        "oracle (knows propensity)": oracle_seeds(program, args.k),
    }

    results = {
        name: simulate_campaign(program, seeds, args.runs, seed=args.seed + 1000)
        for name, seeds in strategies.items()
    }
    print(
        f"\nk = {args.k} seeds, {args.runs} Monte Carlo runs each; ranking took {ranking_seconds:.2f}s"
    )
    print(f"{'seeds chosen by':<30}{'conversions':>12}{'detractors':>12}{'mean prop.':>12}")
    for name, seeds in strategies.items():
        print(
            f"{name:<30}{results[name]:>12.1f}{int(program.detractor[seeds].sum()):>12}"
            f"{program.propensity[seeds].mean():>12.2f}"
        )
    best_ours = max(results["ours: top (conversion)"], results["ours: coverage (conversion)"])
    print()
    for label, ours in (
        ("top", results["ours: top (conversion)"]),
        ("coverage", results["ours: coverage (conversion)"]),
    ):
        print(
            f"ours ({label}) / follower count = {ours / results['follower count']:.2f}x   "
            f"ours ({label}) / oracle = {ours / results['oracle (knows propensity)']:.2f}"
        )
    verdict = "PASS" if best_ours >= 2 * results["follower count"] else "FAIL"
    print(f"target ours >= 2x follower count: {verdict}")
    print(f"total runtime {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
