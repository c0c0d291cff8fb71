"""Import throughput: 100k customers and 500k connections through POST /api/v1/imports.

Runs gunicorn with the production settings on a scratch PostgreSQL database
and streams NDJSON files over loopback, then re-imports the connections to
show the idempotent path. Prints rows per second for each.

    .venv/bin/python bench/ingest.py [--customers 100000] [--connections 500000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import create_workspace_key, gunicorn, scratch_database  # noqa: E402


def write_customers(path: Path, n: int) -> None:
    with path.open("w") as out:
        for i in range(n):
            out.write(
                json.dumps(
                    {
                        "external_id": f"c{i}",
                        "email": f"user{i}@example.com",
                        "first_name": f"First{i}",
                        "locale": "en",
                        "followers": (i * 7919) % 5000,
                        "consent": {"email": True},
                    }
                )
                + "\n"
            )


def write_connections(path: Path, n_customers: int, n: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    seen: set[tuple[int, int]] = set()
    with path.open("w") as out:
        while len(seen) < n:
            source = rng.randrange(n_customers)
            # Mostly local ties (friend groups), some long-range ones.
            target = (
                (source + rng.randrange(1, 50)) % n_customers
                if rng.random() < 0.8
                else rng.randrange(n_customers)
            )
            if source == target or (source, target) in seen:
                continue
            seen.add((source, target))
            out.write(
                json.dumps(
                    {
                        "source": f"c{source}",
                        "target": f"c{target}",
                        "channel": "instagram",
                        "replies": rng.randrange(0, 20),
                        "likes": rng.randrange(0, 50),
                        "follows": rng.random() < 0.5,
                    }
                )
                + "\n"
            )


def post_file(base: str, key: str, kind: str, path: Path) -> tuple[float, dict]:
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=3600)
    started = time.perf_counter()
    with path.open("rb") as body:
        conn.request(
            "POST",
            f"/api/v1/imports?kind={kind}",
            body=body,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/x-ndjson",
                "Content-Length": str(os.path.getsize(path)),
            },
        )
        response = conn.getresponse()
        payload = json.loads(response.read())
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"import failed: {response.status} {payload}")
    return elapsed, payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=500_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, scratch_database("advocacy_bench_ingest") as url:
        customers, connections = Path(tmp) / "customers.ndjson", Path(tmp) / "connections.ndjson"
        write_customers(customers, args.customers)
        write_connections(connections, args.customers, args.connections)
        key = create_workspace_key(url)
        with gunicorn(url) as base:
            print(f"import through gunicorn (production settings) on PostgreSQL, {base}")
            for label, kind, path in (
                ("customers", "customers", customers),
                ("connections", "connections", connections),
                ("connections again (idempotent)", "connections", connections),
            ):
                elapsed, report = post_file(base, key, kind, path)
                counts = {k: report[k] for k in ("created", "updated", "unchanged", "rejected")}
                print(
                    f"  {label:32s} {report['rows']:>8,d} rows in {elapsed:6.1f} s"
                    f"  = {report['rows'] / elapsed:>8,.0f} rows/s  {counts}"
                )


if __name__ == "__main__":
    main()
