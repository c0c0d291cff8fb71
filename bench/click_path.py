"""The click path against bare redirects: GET /r/<token> through gunicorn on PostgreSQL.

Three servers, one after the other in the same run, each with the production
gunicorn.conf.py (same workers and threads), loaded by wrk over loopback (2 threads, 32
connections):

- the click path: verify the token, the link's state (cached, kept fresh by a thread),
  the rate limits, queue the click (written behind in batches, CLICK_FLUSH_MS), set two
  cookies, redirect;
- a bare Flask app whose one route only redirects (bench/bare_app.py ``app``);
- the service with an extra route that only redirects (bench/bare_app.py ``service()``):
  every request hook of the service, none of the click path's work.

wrk sends no cookies, so every request is a first visit, as most referral clicks are. The
public rate limits are raised for the run (CLICK_RATE_LIMIT and INVALID_LINK_RATE_LIMIT
in the server's environment): one client on loopback is exactly the flood they exist to
stop; they are still counted. ``--redis`` counts them in Redis (REDIS_URL), as several
processes or hosts must; the default counts in each process's memory.

    .venv/bin/python bench/click_path.py [--duration 15] [--links 200] [--redis]

Targets (DESIGN.md section 7): click path >= 0.7 x the bare redirect's requests/second,
p99 < 50 ms at 32 connections.
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
from _harness import bench_env, create_workspace_key, gunicorn, scratch_database  # noqa: E402

UNLIMITED = "1000000000 per minute"
CONNECTIONS, THREADS = 32, 2

LUA = """
local tokens = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "%s" .. tokens[(n %% #tokens) + 1])
end
"""


def seed(database_url: str, n_links: int) -> list[str]:
    """Customers, an active campaign, enrollments and one link each, written in-process."""
    os.environ.update(bench_env(database_url))
    from advocacy import create_app
    from advocacy.campaigns.models import Campaign, Enrollment
    from advocacy.customers.models import Customer
    from advocacy.extensions import db
    from advocacy.links.service import issue_link
    from advocacy.types import utcnow
    from advocacy.workspaces.models import Workspace

    create_workspace_key(database_url, "Bench clicks")
    app = create_app()
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
            landing_url="https://shop.example/welcome?utm_source=referral",
            disclosure="Your friend gets EUR 10 credit.",
            translations={},
        )
        session.add(campaign)
        customers = [
            Customer(workspace_id=workspace.id, external_id=f"c{i}", first_name=f"First{i}")
            for i in range(n_links)
        ]
        session.add_all(customers)
        session.flush()
        session.add_all(
            Enrollment(
                workspace_id=workspace.id,
                campaign_id=campaign.id,
                customer_id=customer.id,
                method="manual",
            )
            for customer in customers
        )
        session.flush()
        links = [
            issue_link(
                session,
                workspace_id=workspace.id,
                campaign_id=campaign.id,
                advocate=customer.external_id,
                channel="whatsapp",
                invitee=None,
                now=utcnow(),
                max_age_days=app.config["LINK_MAX_AGE_DAYS"],
                signing_keys=app.config["REFERRAL_SIGNING_KEYS"],
            ).link.token
            for customer in customers
        ]
        session.commit()
        db.engine.dispose()
    return links


def count_clicks(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql")) as conn:
        row = conn.execute("SELECT count(*) FROM clicks").fetchone()
    return int(row[0]) if row else 0


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(base: str, script: Path, seconds: int) -> dict[str, float]:
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
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\n\s+50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\n\s+99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    if errors or socket_errors:
        print(out)
    return {
        "rps": rps,
        "p50": p50,
        "p99": p99,
        "requests": total,
        "bad": int(errors.group(1)) if errors else 0,
    }


def measure(label: str, base: str, script: Path, seconds: int) -> dict[str, float]:
    warm = wrk(base, script, 3)  # warm-up: connections, plans, caches
    result = wrk(base, script, seconds)
    result["answered"] = warm["requests"] + result["requests"]
    print(
        f"  {label:28s} {result['rps']:>9,.0f} req/s   p50 {result['p50']:6.2f} ms   "
        f"p99 {result['p99']:6.2f} ms   ({result['requests']:,.0f} requests, "
        f"{result['bad']:,.0f} not 2xx/3xx)"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=15, help="seconds per measurement")
    parser.add_argument("--links", type=int, default=200, help="distinct links to click")
    parser.add_argument("--redis", action="store_true", help="rate limits counted in Redis")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")

    with tempfile.TemporaryDirectory() as tmp, scratch_database("advocacy_bench_clicks") as url:
        tokens = seed(url, args.links)
        quoted = ", ".join(f'"{t}"' for t in tokens)
        scripts = {}
        for prefix in ("/r/", "/bare/"):
            scripts[prefix] = Path(tmp) / f"{prefix.strip('/')}.lua"
            scripts[prefix].write_text(LUA % (quoted, prefix))
        env = {"CLICK_RATE_LIMIT": UNLIMITED, "INVALID_LINK_RATE_LIMIT": UNLIMITED}
        if args.redis:
            env["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
        print(
            f"GET /r/<token>, {args.links} links, gunicorn.conf.py on PostgreSQL, "
            f"{os.cpu_count()} CPUs, wrk -t{THREADS} -c{CONNECTIONS} -d{args.duration}s "
            f"(rate limits raised for the run, counted in {'Redis' if args.redis else 'memory'})"
        )
        with gunicorn(url, **env) as base:
            clicks = measure("click path (advocacy)", base, scripts["/r/"], args.duration)
        recorded = count_clicks(url)  # after a graceful stop: every queue written
        with gunicorn(url, app="bench.bare_app:app") as base:
            bare = measure("bare Flask redirect", base, scripts["/r/"], args.duration)
        with gunicorn(url, app="bench.bare_app:service()", **env) as base:
            service = measure("service's bare redirect", base, scripts["/bare/"], args.duration)

    ratio = clicks["rps"] / bare["rps"]
    in_service = clicks["rps"] / service["rps"]
    print(f"  ratio click/bare Flask app   {ratio:9.2f}   (target >= 0.70)")
    print(f"  ratio click/service redirect {in_service:9.2f}   (the click path's own work)")
    print(
        f"  ratio service/bare Flask app {service['rps'] / bare['rps']:9.2f}   (the service's hooks)"
    )
    print(f"  click path p99               {clicks['p99']:9.2f} ms (target < 50 ms)")
    answered = int(clicks["answered"])
    lost = max(0, answered - recorded)
    print(
        f"  clicks recorded              {recorded:9,d}   for {answered:,d} redirects wrk "
        f"counted, warm-up included ({lost} missing)"
    )
    ok = ratio >= 0.7 and clicks["p99"] < 50 and clicks["bad"] == 0 and lost == 0
    print("  targets met" if ok else "  TARGETS MISSED")


if __name__ == "__main__":
    main()
