"""Ranking quality: every strategy on simulated brands and on real signed trust networks.

    .venv/bin/python bench/ranking_quality.py [--seeds 1,2] [--customers 3000] [--k 50]
        [--api]                      # also run the baseline world through the public API
        [--skip-real]

Simulated brands (bench/quality_worlds.py): the set's expected distinct buyers (minus the
people its detractors put off) against an oracle that knows each customer's hidden
willingness and attitude and picks greedily on the true score. Selected advocates with a
negative hidden attitude are counted. Beside them, ``obs. ceiling``: a chooser that knows
the world's laws but of each customer's attitude only what the signals say
(:func:`quality_worlds.observable_ceiling`): about the most any ranking of these inputs can
expect, so the gap between a strategy and it is the model's, the rest missing information.
It maximises the *expected* score, so on one seed it can land below a strategy.

Real trust data (../shared/data/), ratings as connections (the rater listens to the rated:
|rating| replies, tone rating / max), two protocols:

- random split: hide a random 20% of the signed ties, rank on the rest, and score the 50
  chosen by the net trust (support minus oppose votes) they receive in the hidden part;
- time split (``--time-split``, needs a fourth column, the rating's time in epoch
  seconds): rank on the ties before the 80th percentile of time (each tie's last
  interaction time is its rating's time, "now" is the cut), and score by the net trust
  received after it. The copies in ../shared/data/ have no timestamps (see their README);
  point ``--data`` at a folder with timestamped copies to run it.

Both against the 50 largest visible audiences (in-degree, i.e. follower count) and 50 at
random; ``net seen`` ranks by the net trust in the visible ties (support minus oppose), the
simplest predictor and, on a random split, about the best one can expect (the hidden
votes are a random sample of the same votes).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_worlds import (  # noqa: E402
    WORLDS,
    World,
    build_world,
    evaluate,
    observable_ceiling,
    oracle,
)

from advocacy.graph.attitude import measurements  # noqa: E402
from advocacy.graph.components import Components, compute_components  # noqa: E402
from advocacy.graph.inputs import RankingInput  # noqa: E402
from advocacy.graph.scoring import rank_order  # noqa: E402
from advocacy.graph.selection import STRATEGIES, select_advocates  # noqa: E402
from advocacy.graph.value import (  # noqa: E402
    edge_probabilities,
    expected_values,
    listener_weights,
)

DATA = Path(__file__).resolve().parents[1].parent.parent / "shared" / "data"
REAL = {"bitcoin_alpha": ("bitcoin_alpha.csv", 10.0), "wikirfa": ("wikirfa.csv", 1.0)}


def ours(components: Components, k: int, objective: str = "conversion") -> dict[str, np.ndarray]:
    """The ranked list's top k and each selection strategy, as the service computes them."""
    values = expected_values(components)
    value = values.value[objective]
    prob = edge_probabilities(
        components.graph.reach_prob, values.share, listener_weights(components, objective)
    )
    chosen = {"ranked list": rank_order(value, components.eligible, top=k)}
    for strategy in STRATEGIES:
        selection = select_advocates(prob, value, components.eligible, k, strategy)
        chosen[strategy] = np.array(selection.indices, dtype=np.int64)
    return chosen


def naive_product(inp: RankingInput, components: Components) -> np.ndarray:
    """Positive sentiment x interactions x purchases: the back-of-envelope rival."""
    purchases = np.bincount(inp.ev_customer[inp.ev_kind == 0], minlength=inp.n)
    interactions = np.bincount(
        inp.c_target, weights=inp.c_replies + inp.c_likes + inp.c_shares, minlength=inp.n
    )
    positive = np.maximum(components.sentiment_facts.shrunk, 0.0)
    return positive * interactions * purchases


def simulated(name: str, n: int, k: int, seed: int) -> dict[str, float | int]:
    world = build_world(name, n, seed)
    components = compute_components(world.observed)
    picks = ours(components, k)
    rng = np.random.default_rng(seed + 99)
    baseline = {
        "follower count": np.argsort(-world.followers, kind="stable")[:k],
        "random": rng.choice(n, k, replace=False),
        "naive product": np.argsort(-naive_product(world.observed, components), kind="stable")[:k],
        "obs. ceiling": observable_ceiling(
            world, measurements(world.observed, components.sentiment_facts), k
        ),
    }
    best = evaluate(world, oracle(world, k))
    row: dict[str, float | int] = {"oracle": best}
    for label, seeds in {**picks, **baseline}.items():
        row[label] = evaluate(world, seeds) / best
        if label in picks:
            row[f"{label} negative"] = int((world.attitude[seeds] < 0).sum())
    return row


def load_signed(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)


def real(
    name: str, k: int, seed: int, split: str = "random", data: Path = DATA
) -> dict[str, float] | None:
    """One real network and split; ``None`` for a time split of a copy without times."""
    filename, scale = REAL[name]
    ratings = load_signed(data / filename)
    rng = np.random.default_rng(seed)
    n = int(ratings[:, :2].max()) + 1
    now = 0.0
    if split == "time":
        if ratings.shape[1] < 4:
            return None
        now = float(np.quantile(ratings[:, 3], 0.8))
        hidden = ratings[:, 3] > now
    else:
        hidden = rng.random(len(ratings)) < 0.2
    seen = ratings[~hidden]
    times = {"c_last_time": seen[:, 3].astype(np.float64)} if split == "time" else {}
    inp = RankingInput(
        n=n,
        now=now,
        c_source=seen[:, 0],
        c_target=seen[:, 1],
        c_replies=np.abs(seen[:, 2]),
        c_sentiment=seen[:, 2] / scale,
        **times,
    )
    components = compute_components(inp)
    picks = ours(components, k)
    net = np.bincount(ratings[hidden, 1], weights=np.sign(ratings[hidden, 2]), minlength=n)
    in_degree = np.bincount(seen[:, 1], minlength=n)
    baseline_seeds = np.argsort(-in_degree, kind="stable")[:k]
    baseline = float(net[baseline_seeds].sum())
    row = {"in-degree net trust": baseline}
    for label, seeds in picks.items():
        row[label] = float(net[seeds].sum()) / baseline
    row["random"] = float(net[rng.choice(n, k, replace=False)].sum()) / baseline
    # The net trust already seen: on a random split the hidden votes are a sample of the
    # same votes, so this is what the best predictor can expect there.
    seen_net = np.bincount(seen[:, 1], weights=np.sign(seen[:, 2]), minlength=n)
    row["net seen"] = float(net[np.argsort(-seen_net, kind="stable")[:k]].sum()) / baseline
    return row


def _print(title: str, columns: list[str], rows: dict[str, dict[str, float | int]]) -> None:
    print(f"\n{title}")
    print(f"{'case':<34}" + "".join(f"{c:>16}" for c in columns))
    for case, row in rows.items():
        cells = []
        for c in columns:
            value = row.get(c, float("nan"))
            cells.append(f"{value:>16.2f}" if isinstance(value, float) else f"{value:>16}")
        print(f"{case:<34}" + "".join(cells))


def _print_real(k: int, seeds: list[int], strategies: list[str], data: Path, time: bool) -> None:
    rows: dict[str, dict[str, float | int]] = {}
    for name in REAL:
        for seed in seeds:
            rows[f"{name} (random split {seed})"] = real(name, k, seed, "random", data) or {}
        if time:
            row = real(name, k, 0, "time", data)
            rows[f"{name} (time split)"] = row if row is not None else {"no timestamps": 1}
    _print(
        f"Real signed networks, k = {k}: net trust the chosen receive in the hidden ties (a "
        "random 20%, or the last 20% by time), as a multiple of the in-degree (follower "
        "count) baseline's",
        [*strategies, "net seen", "random"],
        rows,
    )
    missing = [case for case, row in rows.items() if "no timestamps" in row]
    if missing:
        print(f"(no timestamps in {data}: {', '.join(missing)} not run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--api", action="store_true")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--worlds", default=",".join(WORLDS))
    parser.add_argument("--time-split", action="store_true")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    started = time.perf_counter()

    strategies = ["ranked list", *STRATEGIES]
    sim_rows: dict[str, dict[str, float | int]] = {}
    for name in args.worlds.split(","):
        for seed in seeds:
            sim_rows[f"{name} (seed {seed})"] = simulated(name, args.customers, args.k, seed)
    if args.api:
        from quality_api import through_api

        for seed in seeds[:1]:
            world: World = build_world("baseline", args.customers, seed)
            picks = through_api(world.observed, args.k)
            best = evaluate(world, oracle(world, args.k))
            row: dict[str, float | int] = {"oracle": best}
            for label, chosen in picks.items():
                row[label] = evaluate(world, chosen) / best
                row[f"{label} negative"] = int((world.attitude[chosen] < 0).sum())
            sim_rows[f"baseline via API (seed {seed})"] = row
    _print(
        f"Simulated brands, {args.customers:,} customers, k = {args.k}: share of the oracle's "
        "expected buyers",
        [*strategies, "obs. ceiling", "naive product", "follower count", "random"],
        sim_rows,
    )
    _print(
        "Selected advocates with a negative hidden attitude",
        [f"{s} negative" for s in strategies],
        sim_rows,
    )
    if not args.skip_real:
        _print_real(args.k, seeds, strategies, args.data, args.time_split)
    print(f"\ntotal runtime {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
