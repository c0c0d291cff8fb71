"""POST /api/v1/conversions through gunicorn on PostgreSQL: latency and throughput.

A scratch database gets one workspace, an active two-sided campaign, N enrolled advocates
with one link and one recorded click each. wrk (2 threads, 32 connections) then reports
purchases: every request a new order by a new invitee, with its own Idempotency-Key, and
the ref token and visitor id of one of the clicks, so each is attributed (evidence "ref")
and passes the fraud checks. The campaign has no return window (hold_days 0), so every
request also approves both rewards and books them in the ledger: the heaviest path. The
velocity limit is raised for the run (one client sends thousands of referrals per
advocate, exactly what it exists to hold). After the run the database is checked:
one conversion and two rewards per 201, balanced ledger transactions.

    .venv/bin/python bench/conversions.py [--duration 15] [--advocates 200] [--rates 20,40]

Two kinds of run, 32 connections each: saturated (every client sends its next conversion
as soon as the last is answered: the throughput, and latencies that are mostly queueing),
and paced (32 Python clients, each on a keep-alive connection, wait a random time after
each answer, exponential with a mean of 32/rate seconds, so together they offer about
``rate`` conversions per second at independent moments: the latency of a conversion when
the server is not saturated; each client times its own requests).

In the same run: pgbench's built-in TPC-B script (8 clients, 2 threads, prepared) on a
database of its own (``<database>_pgbench``, ``pgbench -i -s 8``) on the same PostgreSQL,
for as long as the saturated run and just before it, so the figure that matters is the
ratio, conversions per TPC-B transaction, which holds on a busy machine (target >= 0.05,
aim 0.1); one conversion alone in process (the app's test client, sequential requests:
p50 target < 8 ms) and the statements one more conversion sends (``--statements`` lists
them); and with ``--profile``, py-spy over the gunicorn workers during the saturated run,
summarised as the share of samples in each layer and the innermost frames taking most.

Targets (issue 15): >= 0.05 conversions per TPC-B transaction, no non-2xx, no duplicate
reward, every ledger transaction balanced; alone p50 < 8 ms; paced at 100/s p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _conversion_profile import (  # noqa: E402
    count_statements,
    growth_rounds,
    print_statements_and_profile,
    profile,
    profile_summary,
)
from _harness import (  # noqa: E402
    PG_ADMIN_URL,
    bench_env,
    create_workspace_key,
    gunicorn,
    scratch_database,
    two_sided_campaign,
)

CONNECTIONS, THREADS = 32, 2

# The wrk script, a %-format template filled with the tokens, visitors and key.
LUA = (Path(__file__).resolve().parent / "conversions.lua").read_text()


def seed(database_url: str, n: int) -> tuple[str, list[str], list[str], str]:
    """The admin key, tokens and visitor ids, and an occurred_at after every click."""
    os.environ.update(bench_env(database_url))
    from advocacy import create_app
    from advocacy.campaigns.models import Enrollment
    from advocacy.customers.models import Customer
    from advocacy.extensions import db
    from advocacy.links.models import Click
    from advocacy.links.service import issue_link
    from advocacy.types import utcnow
    from advocacy.workspaces.models import Workspace

    key = create_workspace_key(database_url, "Bench conversions")
    app = create_app()
    now = utcnow()
    with app.app_context():
        session = db.session
        workspace = session.scalars(db.select(Workspace)).one()
        workspace.allowed_domains = ["shop.example"]
        campaign = two_sided_campaign(workspace.id, hold_days=0)
        session.add(campaign)
        advocates = [
            Customer(
                workspace_id=workspace.id,
                external_id=f"adv{i}",
                email=f"adv{i}@example.com",
                email_normalized=f"adv{i}@example.com",
            )
            for i in range(n)
        ]
        session.add_all(advocates)
        session.flush()
        session.add_all(
            Enrollment(
                workspace_id=workspace.id,
                campaign_id=campaign.id,
                customer_id=c.id,
                method="manual",
            )
            for c in advocates
        )
        session.flush()
        links = [
            issue_link(
                session,
                workspace_id=workspace.id,
                campaign_id=campaign.id,
                advocate=c.external_id,
                channel="whatsapp",
                invitee=None,
                now=now - timedelta(hours=2),
                max_age_days=app.config["LINK_MAX_AGE_DAYS"],
                signing_keys=app.config["REFERRAL_SIGNING_KEYS"],
            ).link
            for c in advocates
        ]
        visitors = [f"bench-visitor-{i:06d}" for i in range(n)]
        session.add_all(
            Click(
                workspace_id=workspace.id,
                campaign_id=campaign.id,
                link_id=link.id,
                visitor_id=visitor,
                ip_hash="0" * 64,
                user_agent="bench",
                clicked_at=now - timedelta(hours=1),
            )
            for link, visitor in zip(links, visitors, strict=True)
        )
        tokens = [link.token for link in links]
        session.commit()
        db.engine.dispose()
    return key, tokens, visitors, now.isoformat()


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(base: str, script: Path, seconds: int, label: str) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            f"-t{THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            base,
            "--",
            label,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors or "Socket errors" in out:
        print(out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"\n\s+50%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "p90": _ms(re.search(r"\n\s+90%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"\n\s+99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "bad": int(errors.group(1)) if errors else 0,
    }


def paced_run(
    base: str,
    key: str,
    tokens: list[str],
    visitors: list[str],
    occurred: str,
    *,
    rate: float,
    seconds: int,
) -> dict[str, float]:
    """32 clients, each on its own keep-alive connection, sending a conversion, waiting for
    the answer, then a random time (exponential, mean 32/rate s): together about ``rate``
    conversions/s at independent moments. Each latency is measured by its client."""
    host, port = base.removeprefix("http://").split(":")
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        pick = random.Random(number)
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        sent = 0
        time.sleep(pick.expovariate(rate / CONNECTIONS))
        while time.monotonic() < deadline:
            sent += 1
            i = pick.randrange(len(tokens))
            event_id = f"paced{rate}-{number}-{sent}"
            body = json.dumps(
                {
                    "event": "purchase",
                    "event_id": event_id,
                    "invitee": {"external_id": event_id, "email": f"{event_id}@bench.example"},
                    "amount": 5000,
                    "currency": "EUR",
                    "occurred_at": occurred,
                    "ref": tokens[i],
                    "visitor_id": visitors[i],
                    "ip": "198.51.100.7",
                    "user_agent": "bench",
                }
            )
            headers = {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {key}",
                "Idempotency-Key": event_id,
            }
            started = time.perf_counter()
            for attempt in range(2):
                try:
                    connection.request("POST", "/api/v1/conversions", body, headers)
                    response = connection.getresponse()
                    response.read()
                    break
                except (ConnectionError, http.client.RemoteDisconnected):
                    # The server closed the idle keep-alive connection (gunicorn keepalive):
                    # reconnect and send again, same Idempotency-Key, as a client would.
                    connection.close()
                    if attempt:
                        raise
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if response.status != 201:
                    failures.append(response.status)
            time.sleep(pick.expovariate(rate / CONNECTIONS))
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    return {
        "rps": len(latencies) / seconds,
        "p50": pct(0.50),
        "p90": pct(0.90),
        "p99": pct(0.99),
        "requests": len(latencies),
        "bad": len(failures),
    }


def check(database_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql")) as conn:

        def one(sql: str) -> int:
            row = conn.execute(sql).fetchone()
            return int(row[0]) if row else 0

        return {
            "conversions": one("SELECT count(*) FROM conversions"),
            "attributed": one("SELECT count(*) FROM conversions WHERE attributed"),
            "rewards": one("SELECT count(*) FROM rewards"),
            "approved": one("SELECT count(*) FROM rewards WHERE state = 'approved'"),
            "duplicate_rewards": one(
                "SELECT count(*) FROM (SELECT conversion_id, role FROM rewards "
                "GROUP BY 1, 2 HAVING count(*) > 1) d"
            ),
            "unbalanced_transactions": one(
                "SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries "
                "GROUP BY 1 HAVING sum(amount) <> 0) t"
            ),
        }


def pgbench(database_url: str, seconds: int) -> float:
    """TPC-B transactions per second of pgbench on its own database of the same server."""
    import psycopg

    name = database_url.rsplit("/", 1)[1] + "_pgbench"
    admin = PG_ADMIN_URL
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    target = database_url.replace("postgresql+psycopg", "postgresql").rsplit("/", 1)[0]
    target = f"{target}/{name}"
    try:
        subprocess.run(["pgbench", "-i", "-q", "-s", "8", target], check=True, capture_output=True)
        out = subprocess.run(
            ["pgbench", "-n", "-c", "8", "-j", "2", "-M", "prepared", "-T", str(seconds), target],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return float(re.search(r"tps = ([0-9.]+)", out).group(1))  # type: ignore[union-attr]


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of a process on this machine (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def alone(
    database_url: str,
    key: str,
    tokens: list[str],
    visitors: list[str],
    occurred: str,
    n: int,
    tag: str = "alone",
) -> dict[str, float]:
    """One conversion at a time, in process (the app's test client): its latency, and its
    CPU in Python and in its PostgreSQL backend (which a busy machine does not inflate)."""
    os.environ.update(bench_env(database_url, VELOCITY_LIMIT_PER_DAY="1000000000"))
    from sqlalchemy import text

    from advocacy import create_app
    from advocacy.extensions import db

    app = create_app()
    client = app.test_client()
    times: list[float] = []
    for i in range(n + 50):
        if i == 50:  # the first ones warm the caches and the connection
            with app.app_context():
                backend = int(db.session.execute(text("SELECT pg_backend_pid()")).scalar_one())
                db.session.remove()
            python_cpu, database_cpu = time.process_time(), _cpu_seconds(backend)
        j = i % len(tokens)
        body = {
            "event": "purchase",
            "event_id": f"{tag}-{i}",
            "invitee": {"external_id": f"{tag}-{i}", "email": f"{tag}-{i}@bench.example"},
            "amount": 5000,
            "currency": "EUR",
            "occurred_at": occurred,
            "ref": tokens[j],
            "visitor_id": visitors[j],
            "ip": "198.51.100.7",
            "user_agent": "bench",
        }
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"{tag}-{i}"}
        started = time.perf_counter()
        response = client.post("/api/v1/conversions", json=body, headers=headers)
        if i >= 50:
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 201, response.get_json()
    python_cpu = (time.process_time() - python_cpu) * 1000 / n
    database_cpu = (_cpu_seconds(backend) - database_cpu) * 1000 / n
    statements = count_statements(app, client, body, headers)
    with app.app_context():
        db.engine.dispose()
    times.sort()
    return {
        "p50": times[len(times) // 2],
        "p99": times[int(len(times) * 0.99)],
        "python_cpu": python_cpu,
        "database_cpu": database_cpu,
        "statements": statements,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=15, help="seconds measured")
    parser.add_argument("--advocates", type=int, default=200, help="links (one click each)")
    parser.add_argument("--database", default="advocacy_bench_conv", help="scratch database")
    parser.add_argument("--alone", type=int, default=300, help="sequential in-process requests")
    parser.add_argument("--profile", action="store_true", help="py-spy over the saturated run")
    parser.add_argument(
        "--statements", action="store_true", help="list the statements of one conversion"
    )
    parser.add_argument(
        "--rates",
        default="100",
        help="paced runs too: total conversions/s offered by the 32 clients (comma-separated)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="more saturated runs on the growing database: throughput and rows read per conversion",
    )
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",") if r.strip()]
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")

    with tempfile.TemporaryDirectory() as tmp, scratch_database(args.database) as url:
        key, tokens, visitors, occurred = seed(url, args.advocates)
        script = Path(tmp) / "conversions.lua"
        script.write_text(
            LUA
            % {
                "tokens": ", ".join(f'"{t}"' for t in tokens),
                "visitors": ", ".join(f'"{v}"' for v in visitors),
                "occurred": occurred,
                "key": key,
            }
        )
        print(
            f"POST /api/v1/conversions, {args.advocates} advocates, gunicorn.conf.py on "
            f"PostgreSQL, {os.cpu_count()} CPUs, wrk -t{THREADS} -c{CONNECTIONS} "
            f"-d{args.duration}s (every request a new attributed purchase, both rewards "
            "approved and booked)"
        )
        paced = {}
        tpcb = pgbench(url, args.duration)
        with gunicorn(url, VELOCITY_LIMIT_PER_DAY="1000000000") as base:
            wrk(base, script, 3, "warmup")
            recording = profile(base, args.duration) if args.profile else None
            result = wrk(base, script, args.duration, "run")
            layers, frames = profile_summary(recording) if recording is not None else ([], [])
            growth = growth_rounds(
                lambda label: wrk(base, script, args.duration, label), url, args.rounds
            )
            for rate in rates:
                time.sleep(3)  # the saturated run's last requests, abandoned by wrk, drain
                paced[rate] = paced_run(
                    base, key, tokens, visitors, occurred, rate=rate, seconds=args.duration
                )
        single = alone(url, key, tokens, visitors, occurred, args.alone)
        totals = check(url)
    print(
        f"  pgbench TPC-B (8 clients, prepared, {args.duration} s before the saturated run): "
        f"{tpcb:,.0f} tps; conversions per TPC-B transaction {result['rps'] / tpcb:.3f} "
        "(target >= 0.05, aim 0.1)"
    )
    print(
        f"  one conversion alone, in process ({args.alone} sequential): "
        f"p50 {single['p50']:.2f} ms   p99 {single['p99']:.2f} ms (target p50 < 8 ms); CPU "
        f"per conversion: {single['python_cpu']:.1f} ms Python, "
        f"{single['database_cpu']:.1f} ms PostgreSQL backend"
    )
    print_statements_and_profile(single["statements"], args.statements, layers, frames)
    print(
        f"  saturated: throughput {result['rps']:7,.0f} req/s   p50 {result['p50']:6.2f} ms   "
        f"p90 {result['p90']:6.2f} ms   p99 {result['p99']:6.2f} ms (target < 50 ms)"
    )
    for n, (rps, read) in enumerate(growth, 2):
        print(
            f"  saturated run {n} (database grown): {rps:7,.0f} req/s, {read:9,.0f} rows read per conversion"
        )
    for rate, run in paced.items():
        print(
            f"  paced at {rate:>3} req/s offered: {run['rps']:6,.1f} req/s   "
            f"p50 {run['p50']:6.2f} ms   p90 {run['p90']:6.2f} ms   p99 {run['p99']:6.2f} ms"
            f"   ({run['bad']:,} not 2xx)"
        )
    print(
        f"  {result['requests']:,} requests measured saturated, {result['bad']:,} not 2xx; "
        "database "
        f"(warm-up included): {totals['conversions']:,} conversions, "
        f"{totals['attributed']:,} attributed, {totals['rewards']:,} rewards "
        f"({totals['approved']:,} approved), {totals['duplicate_rewards']} duplicate "
        f"rewards, {totals['unbalanced_transactions']} unbalanced ledger transactions"
    )


if __name__ == "__main__":
    main()
