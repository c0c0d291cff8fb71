"""Worker recycling under load: GET /r/<token> through gunicorn on PostgreSQL, wrk on loopback.

Three servers, one after the other in the same run, each with the production
gunicorn.conf.py and two workers (as in the fault report of issue #12), loaded by wrk
(2 threads, 32 connections):

- no recycling (GUNICORN_MAX_REQUESTS=0);
- gunicorn's own recycling as the service had it (--max-requests 10000
  --max-requests-jitter 1000): each worker exits on its own count, both in the same
  second more often than not;
- the service's staggered recycling at the same count (GUNICORN_MAX_REQUESTS=10000): a
  worker goes only when every worker is up and none went in the last
  GUNICORN_RECYCLE_SPACING seconds (advocacy/serving.py).

For each: requests/second, p99, wrk's connect errors (refused: no worker listening) and
read errors (reset: queued on a socket that closed), and how many workers were replaced.

    .venv/bin/python bench/recycling.py [--duration 20] [--links 200] [--every 10000]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _harness import gunicorn, scratch_database  # noqa: E402
from click_path import LUA, UNLIMITED, seed  # noqa: E402

WORKERS, CONNECTIONS, THREADS = "2", 32, 2


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(base: str, script: Path, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
        + ["-s", str(script), base],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    socket_errors = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    connect, read, write, timeout = (
        (int(g) for g in socket_errors.groups()) if socket_errors else (0, 0, 0, 0)
    )
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"\n\s+99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "connect": connect,
        "read": read + write,
        "timeout": timeout,
        "bad": int(bad.group(1)) if bad else 0,
    }


def run(
    label: str, url: str, script: Path, seconds: int, log: Path, args: tuple[str, ...], **env: str
) -> None:
    with gunicorn(url, args=args, log=log, **env) as base:
        wrk(base, script, 3)  # warm-up
        result = wrk(base, script, seconds)
    text = log.read_text()
    replaced = max(0, len(re.findall(r"Booting worker with pid", text)) - int(WORKERS))
    print(
        f"  {label:34s} {result['rps']:>7,.0f} req/s   p99 {result['p99']:7.2f} ms   "
        f"refused {result['connect']:>6,}   reset {result['read']:>4,}   "
        f"timeouts {result['timeout']:>3,}   not 2xx/3xx {result['bad']:>4,}   workers replaced {replaced}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=20, help="seconds per measurement")
    parser.add_argument("--links", type=int, default=200, help="distinct links to click")
    parser.add_argument("--every", type=int, default=10_000, help="requests per worker life")
    args = parser.parse_args()
    every = str(args.every)
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")

    with tempfile.TemporaryDirectory() as tmp, scratch_database("advocacy_bench_recycling") as url:
        tokens = seed(url, args.links)
        script = Path(tmp) / "r.lua"
        script.write_text(LUA % (", ".join(f'"{t}"' for t in tokens), "/r/"))
        env = {
            "CLICK_RATE_LIMIT": UNLIMITED,
            "INVALID_LINK_RATE_LIMIT": UNLIMITED,
            "GUNICORN_WORKERS": WORKERS,
        }
        print(
            f"GET /r/<token>, {args.links} links, gunicorn.conf.py with {WORKERS} workers on "
            f"PostgreSQL, {os.cpu_count()} CPUs, wrk -t{THREADS} -c{CONNECTIONS} -d{args.duration}s"
        )
        log = Path(tmp) / "gunicorn.log"
        run("no recycling", url, script, args.duration, log, (), GUNICORN_MAX_REQUESTS="0", **env)
        jitter = str(args.every // 10)
        gunicorns = ("--max-requests", every, "--max-requests-jitter", jitter)
        own = ("gunicorn max_requests", gunicorns, "0")
        staggered = ("staggered recycling", (), every)
        for label, options, count in (own, staggered):
            label = f"{label} {every} +10%"
            run(label, url, script, args.duration, log, options, GUNICORN_MAX_REQUESTS=count, **env)


if __name__ == "__main__":
    main()
