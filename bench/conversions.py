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

Target (DESIGN.md section 7): p99 < 50 ms at 32 concurrent clients.
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
from _harness import bench_env, create_workspace_key, gunicorn, scratch_database  # noqa: E402

CONNECTIONS, THREADS = 32, 2

LUA = """
local tokens = {%(tokens)s}
local visitors = {%(visitors)s}
local occurred = "%(occurred)s"
local key = "%(key)s"
local counter = 0
-- Globals: setup() sets each thread's own thread_no (thread:set writes a global).
thread_no = 0
label = "run"

function setup(thread)
  thread:set("thread_no", thread_no)
  thread_no = thread_no + 1
end

function init(args)
  label = args[1] or "run"
end

request = function()
  counter = counter + 1
  -- The two wrk threads take turns through the advocates: two conversions of the same
  -- advocate at the same moment wait for each other (the per-advocate cap is checked
  -- under a row lock), which real traffic rarely does and lock-step threads always would.
  local i = ((counter * 2 + thread_no) %% #tokens) + 1
  local id = label .. "-" .. thread_no .. "-" .. counter
  local body = '{"event":"purchase","event_id":"' .. id .. '","invitee":{"external_id":"' ..
    id .. '","email":"' .. id .. '@bench.example"},"amount":5000,"currency":"EUR",' ..
    '"occurred_at":"' .. occurred .. '","ref":"' .. tokens[i] .. '","visitor_id":"' ..
    visitors[i] .. '","ip":"198.51.100.7","user_agent":"bench"}'
  return wrk.format("POST", "/api/v1/conversions", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
    ["Idempotency-Key"] = id,
  }, body)
end
"""


def seed(database_url: str, n: int) -> tuple[str, list[str], list[str], str]:
    """The admin key, tokens and visitor ids, and an occurred_at after every click."""
    os.environ.update(bench_env(database_url))
    from advocacy import create_app
    from advocacy.campaigns.models import Campaign, Enrollment
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
        campaign = Campaign(
            workspace_id=workspace.id,
            name="Bench",
            objective="conversion",
            status="active",
            inviter_reward_kind="credit",
            inviter_reward_amount=1000,
            inviter_reward_currency="EUR",
            invitee_reward_kind="coupon",
            invitee_reward_amount=1500,
            invitee_reward_currency="EUR",
            trigger_event="purchase",
            hold_days=0,
            landing_url="https://shop.example/welcome",
            disclosure="Your friend gets EUR 10 credit.",
            translations={},
        )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=15, help="seconds measured")
    parser.add_argument("--advocates", type=int, default=200, help="links (one click each)")
    parser.add_argument(
        "--rates",
        default="20,40",
        help="paced runs too: total conversions/s offered by the 32 clients (comma-separated)",
    )
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",") if r.strip()]
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")

    with tempfile.TemporaryDirectory() as tmp, scratch_database("advocacy_bench_conv") as url:
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
        with gunicorn(url, VELOCITY_LIMIT_PER_DAY="1000000000") as base:
            wrk(base, script, 3, "warmup")
            result = wrk(base, script, args.duration, "run")
            for rate in rates:
                time.sleep(3)  # the saturated run's last requests, abandoned by wrk, drain
                paced[rate] = paced_run(
                    base, key, tokens, visitors, occurred, rate=rate, seconds=args.duration
                )
        totals = check(url)
    print(
        f"  saturated: throughput {result['rps']:7,.0f} req/s   p50 {result['p50']:6.2f} ms   "
        f"p90 {result['p90']:6.2f} ms   p99 {result['p99']:6.2f} ms (target < 50 ms)"
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
