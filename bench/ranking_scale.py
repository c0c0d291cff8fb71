"""End-to-end ranking at scale on PostgreSQL, beside plain networkx.pagerank.

For each size it fills a scratch database with a synthetic workspace (bulk COPY), then
in a fresh process runs the production job (read from the database, compute, write the
snapshot) and reports wall time and peak memory; then, in another process, plain
``networkx.pagerank`` on the same interaction graph.

    .venv/bin/python bench/ranking_scale.py                       # 100k/1M and 1M/10M
    .venv/bin/python bench/ranking_scale.py --sizes 100000:1000000 --no-networkx
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import ROOT, bench_env, scratch_database  # noqa: E402

NOW = time.time()
DAY = 86_400.0


def _copy(conn, table: str, columns: list[str], rows_csv: bytes) -> None:  # noqa: ANN001
    with conn.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(rows_csv)


def _csv(*columns: np.ndarray, fmt: list[str]) -> bytes:
    out = io.BytesIO()
    np.savetxt(out, np.column_stack(columns), fmt=fmt, delimiter=",")
    return out.getvalue()


def _ts(epoch: np.ndarray) -> np.ndarray:
    return np.array(epoch, dtype="datetime64[s]").astype(str)


def populate(url: str, customers: int, connections: int, seed: int = 1) -> int:
    """A synthetic workspace: friend groups with interaction, follow-only audiences."""
    import psycopg

    rng = np.random.default_rng(seed)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        ws = conn.execute(
            "INSERT INTO workspaces (name, created_at) VALUES ('Scale', now()) RETURNING id"
        ).fetchone()[0]
        ids = np.arange(customers)
        followers = np.minimum(rng.pareto(1.2, customers) * 50, 10**7).astype(np.int64)
        now_s = str(np.datetime64(int(NOW), "s"))
        buf = io.StringIO()
        for i, f in zip(ids.tolist(), followers.tolist(), strict=True):
            buf.write(f"{ws},c{i},{f},t,f,f,{{}},{now_s},{now_s}\n")
        _copy(
            conn,
            "customers",
            [
                "workspace_id",
                "external_id",
                "followers",
                "consent_email",
                "consent_sms",
                "consent_social",
                "attributes",
                "created_at",
                "updated_at",
            ],
            buf.getvalue().encode(),
        )
        first = conn.execute(
            "SELECT min(id) FROM customers WHERE workspace_id = %s", (ws,)
        ).fetchone()[0]
        # Events: ~3 per customer over two years.
        n_events = customers * 3
        who = rng.integers(0, customers, n_events) + first
        kind = rng.choice(
            ["purchase", "login", "nps", "review", "email_click"],
            n_events,
            p=[0.3, 0.3, 0.1, 0.1, 0.2],
        )
        when = _ts(NOW - rng.uniform(0, 730, n_events) * DAY)
        value = np.where(
            kind == "nps",
            rng.integers(0, 11, n_events),
            np.where(kind == "review", rng.integers(1, 6, n_events), -1),
        )
        amount = np.where(kind == "purchase", rng.integers(500, 50_000, n_events), -1)
        buf = io.StringIO()
        for w, k, v, a, t in zip(
            who.tolist(), kind.tolist(), value.tolist(), amount.tolist(), when.tolist(), strict=True
        ):
            buf.write(
                f"{ws},{w},{k},{'' if v < 0 else v},{'' if a < 0 else a},{'EUR' if a >= 0 else ''},{t},{now_s}\n"
            )
        _copy(
            conn,
            "engagement_events",
            [
                "workspace_id",
                "customer_id",
                "kind",
                "value",
                "amount",
                "currency",
                "occurred_at",
                "created_at",
            ],
            buf.getvalue().encode(),
        )
        # Mentions: one per two customers.
        n_mentions = customers // 2
        who = rng.integers(0, customers, n_mentions) + first
        sentiment = np.clip(rng.normal(0.3, 0.5, n_mentions), -1, 1)
        when = _ts(NOW - rng.uniform(0, 365, n_mentions) * DAY)
        buf = io.StringIO()
        for i, (w, s, t) in enumerate(
            zip(who.tolist(), sentiment.tolist(), when.tolist(), strict=True)
        ):
            buf.write(f"{ws},m{i},x,{w},{s:.4f},provided,{t},{now_s},{now_s}\n")
        _copy(
            conn,
            "mentions",
            [
                "workspace_id",
                "external_id",
                "channel",
                "customer_id",
                "sentiment",
                "sentiment_source",
                "occurred_at",
                "created_at",
                "updated_at",
            ],
            buf.getvalue().encode(),
        )
        # Connections: 80% inside friend groups of ~20, 20% long range; unique pairs.
        drawn = int(connections * 1.05)
        source = rng.integers(0, customers, drawn)
        local = rng.random(drawn) < 0.8
        target = np.where(
            local,
            (source // 20) * 20 + rng.integers(0, 20, drawn),
            rng.integers(0, customers, drawn),
        )
        target = np.minimum(target, customers - 1)
        key = np.unique(source.astype(np.int64) * customers + target)
        key = key[(key // customers) != (key % customers)][:connections]
        rng.shuffle(key)
        source, target = key // customers + first, key % customers + first
        m = source.size
        interacting = rng.random(m) < 0.6
        replies = np.where(interacting, rng.poisson(3, m), 0)
        likes = np.where(interacting, rng.poisson(6, m), 0)
        shares = np.where(interacting, rng.poisson(0.5, m), 0)
        follows = np.where(rng.random(m) < 0.7, "t", "f")
        sentiment = np.where(rng.random(m) < 0.05, -0.8, np.nan)
        last = NOW - rng.uniform(0, 365, m) * DAY
        step = 1_000_000
        for start in range(0, m, step):
            sl = slice(start, start + step)
            buf = io.StringIO()
            last_s = _ts(last[sl]).tolist()
            for s, t, r, lk, sh, f, se, la in zip(
                source[sl].tolist(),
                target[sl].tolist(),
                replies[sl].tolist(),
                likes[sl].tolist(),
                shares[sl].tolist(),
                follows[sl].tolist(),
                sentiment[sl].tolist(),
                last_s,
                strict=True,
            ):
                buf.write(
                    f"{ws},{s},{t},instagram,{r},{lk},{sh},0,{f},{'' if se != se else se},{la},{now_s},{now_s}\n"
                )
            _copy(
                conn,
                "connections",
                [
                    "workspace_id",
                    "source_id",
                    "target_id",
                    "channel",
                    "replies",
                    "likes",
                    "shares",
                    "messages",
                    "follows",
                    "sentiment",
                    "last_interaction_at",
                    "created_at",
                    "updated_at",
                ],
                buf.getvalue().encode(),
            )
        conn.commit()
        conn.execute("ANALYZE")
    return int(ws)


def run_rank(url: str, workspace: int) -> None:
    """In its own process: the production ranking job, timed, with peak memory."""
    import resource

    from advocacy import create_app
    from advocacy.advocates.service import rank_workspace
    from advocacy.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        started = time.perf_counter()
        snapshot = rank_workspace(db.session, workspace_id=workspace)
        db.session.commit()
        elapsed = time.perf_counter() - started
        result = {
            "seconds": elapsed,
            "timings": snapshot.timings,
            "customers": snapshot.customers,
            "connections": snapshot.connections,
        }
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_networkx(url: str, workspace: int) -> None:
    """In its own process: plain networkx.pagerank over the same interaction edges."""
    import resource

    import networkx as nx

    from advocacy import create_app
    from advocacy.advocates.loading import load_workspace
    from advocacy.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        inp = load_workspace(db.session, workspace_id=workspace, now=NOW, with_signals=False).inp
    started = time.perf_counter()
    weight = inp.c_replies + inp.c_likes * 0.25 + inp.c_shares * 1.5 + inp.c_messages + 0.1
    graph = nx.DiGraph()
    graph.add_nodes_from(range(inp.n))
    graph.add_weighted_edges_from(
        zip(inp.c_source.tolist(), inp.c_target.tolist(), weight.tolist(), strict=True)
    )
    built = time.perf_counter()
    nx.pagerank(graph, weight="weight")
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"build_s": built - started, "pagerank_s": done - built, "peak_mib": peak}))


def _child(mode: str, url: str, workspace: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, f"--{mode}", url, str(workspace)],
        cwd=ROOT,
        env=bench_env(url),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes",
        default="100000:1000000,1000000:10000000",
        help="customers:connections pairs, comma-separated",
    )
    parser.add_argument("--no-networkx", action="store_true")
    parser.add_argument(
        "--database", default="advocacy_bench_rank", help="scratch database (dropped after)"
    )
    parser.add_argument("--run-rank", nargs=2, metavar=("URL", "WS"))
    parser.add_argument("--run-networkx", nargs=2, metavar=("URL", "WS"))
    args = parser.parse_args()
    if args.run_rank:
        run_rank(args.run_rank[0], int(args.run_rank[1]))
        return
    if args.run_networkx:
        run_networkx(args.run_networkx[0], int(args.run_networkx[1]))
        return
    print("ranking end to end on PostgreSQL (read, compute, write snapshot), fresh process each")
    for pair in args.sizes.split(","):
        customers, connections = (int(x) for x in pair.split(":"))
        with scratch_database(args.database) as url:
            started = time.perf_counter()
            ws = populate(url, customers, connections)
            print(
                f"\n{customers:,} customers / {connections:,} connections "
                f"(populated in {time.perf_counter() - started:.0f} s)"
            )
            ours = _child("run-rank", url, ws)
            t = ours["timings"]
            print(
                f"  advocacy rank_workspace: {ours['seconds']:6.1f} s, peak {ours['peak_mib']:,.0f} MiB"
                f"  (load {t['load_s']} s, compute {t['compute_s']} s, write {t['write_s']} s)"
            )
            again = _child("run-rank", url, ws)
            print(
                f"  again (snapshot v2):     {again['seconds']:6.1f} s, peak {again['peak_mib']:,.0f} MiB"
            )
            if not args.no_networkx:
                nxr = _child("run-networkx", url, ws)
                print(
                    f"  networkx.pagerank alone: build {nxr['build_s']:.1f} s + pagerank "
                    f"{nxr['pagerank_s']:.1f} s, peak {nxr['peak_mib']:,.0f} MiB"
                )


if __name__ == "__main__":
    main()
