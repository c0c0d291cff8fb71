"""Every console page's server time, on the demo workspace and on a 100k-customer one.

Builds the demo workspace (``flask demo``, 2,000 customers, ranked) and a 100,000-customer
demo workspace in a scratch PostgreSQL database, adds an active campaign to each (the
demo's own campaign has ended) and an owner, signs in through the real form and times
each page inside the app (the production configuration, Flask's test client, no network:
the server's time from request to response): every console page without a path parameter
found in the URL map (so pages added later are timed too), plus a person's page, filtered,
sorted and re-weighted rankings, the selection, the active and the demo campaign's pages
and the demo campaign's audit trail. The database is ANALYZEd first (the machine's server
runs without autovacuum; production keeps statistics fresh). Each URL is requested twice to warm
up, then ``--repeat`` times; the median and the slowest are printed. Targets: 300 ms
(demo) and 1 s (100k).

    .venv/bin/python bench/console.py [--sizes 2000,100000] [--repeat 5] [--keep]

``--keep`` leaves the scratch database (``adv_bench_console``) in place and reuses it on
the next run, since building the 100k workspace takes minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _harness import (  # noqa: E402
    BIN,
    PG_ADMIN_URL,
    ROOT,
    bench_env,
    pg_url,
    scratch_database,
    two_sided_campaign,
)

EMAIL, PASSWORD = "bench-owner@staff.example", "bench password for the console"
CAMPAIGN = "Bench friends"
DATABASE = "adv_bench_console"
TARGETS_MS = {2000: 300, 100_000: 1000}


def _app(url: str) -> Any:
    from advocacy import create_app

    os.environ.update(bench_env(url))
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SESSION_COOKIE_SECURE": False})


def build(url: str, customers: int) -> dict[str, Any]:
    """A ranked demo workspace of ``customers``, an active campaign and an owner."""
    name = f"Demo {customers}"
    subprocess.run(
        [BIN / "flask", "--app", "advocacy", "demo", "--customers", str(customers), "--name", name],
        cwd=ROOT,
        env=bench_env(url),
        check=True,
        capture_output=True,
    )
    from advocacy.console import accounts
    from advocacy.demo.command import find_workspace
    from advocacy.extensions import db
    from advocacy.types import utcnow

    app = _app(url)
    with app.app_context():
        workspace = find_workspace(db.session, name)
        assert workspace is not None
        db.session.add(
            two_sided_campaign(
                workspace.id,
                name=CAMPAIGN,
                landing_url=f"https://{workspace.allowed_domains[0]}/welcome",
                starts_at=utcnow(),
            )
        )
        accounts.add_staff(
            db.session,
            email=f"{customers}-{EMAIL}",
            password=PASSWORD,
            workspace_id=workspace.id,
            role="owner",
        )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return find_built(url, customers)


def find_built(url: str, customers: int) -> dict[str, Any]:
    """What the timings need of a workspace ``build`` made."""
    from sqlalchemy import select

    from advocacy.advocates.service import list_advocates
    from advocacy.campaigns.models import Campaign
    from advocacy.demo.command import demo_campaign, find_workspace
    from advocacy.demo.population import PLANTED
    from advocacy.extensions import db

    app = _app(url)
    with app.app_context():
        workspace = find_workspace(db.session, f"Demo {customers}")
        assert workspace is not None, "no such workspace: run without --keep once"
        demo = demo_campaign(db.session, workspace.id)
        assert demo is not None
        campaign_id = db.session.scalar(
            select(Campaign.id).where(
                Campaign.workspace_id == workspace.id, Campaign.name == CAMPAIGN
            )
        )
        _, top, _ = list_advocates(
            db.session, workspace_id=workspace.id, objective="conversion", limit=1
        )
        pages = [
            rule.rule
            for rule in app.url_map.iter_rules()
            if (rule.endpoint or "").startswith("console.")
            and "GET" in (rule.methods or ())
            and not rule.arguments
        ]
        db.session.remove()
        db.engine.dispose()
    return {
        "email": f"{customers}-{EMAIL}",
        "campaign": campaign_id,
        "demo_campaign": demo.id,
        "top": top[0].external_id,
        "detractor": PLANTED["loud_detractor"],
        "pages": sorted(pages),
    }


@contextlib.contextmanager
def database(keep: bool) -> Iterator[tuple[str, bool]]:
    """The scratch database and whether it is new; with ``keep``, an existing one is
    reused and nothing is dropped."""
    import psycopg

    if not keep:
        with scratch_database(DATABASE) as url:
            yield url, True
        return
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    url = pg_url(DATABASE)
    if not exists:
        subprocess.run(
            [BIN / "flask", "--app", "advocacy", "db", "upgrade"],
            cwd=ROOT,
            env=bench_env(url),
            check=True,
            capture_output=True,
        )
    yield url, not exists


def analyze(url: str) -> None:
    """Fresh planner statistics, as autovacuum keeps them in production (this machine's
    server runs without it): a plan made for empty tables is no measure of a page."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("ANALYZE")


def sign_in(client: Any, email: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token, "no CSRF token on the sign-in page"
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 302, f"sign-in failed: {response.status_code}"


def time_page(client: Any, path: str, repeat: int) -> tuple[int, float, float]:
    for _ in range(2):
        status = client.get(path).status_code
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        status = client.get(path).status_code
        samples.append((time.perf_counter() - started) * 1000)
    return status, statistics.median(samples), max(samples)


def urls(built: dict[str, Any]) -> list[str]:
    weights = "&".join(f"w_{c}=20" for c in ("engagement", "sentiment", "influence", "reach"))
    return [
        *built["pages"],
        "/?days=90",
        "/advocates/?show=all&sort=followers",
        "/advocates/?show=all&q=promoter",
        f"/advocates/?custom=on&{weights}&w_track_record=80",
        f"/advocates/{built['top']}",
        f"/advocates/{built['detractor']}",
        f"/advocates/selection?campaign={built['campaign']}&strategy=coverage&k=10",
        f"/advocates/selection?campaign={built['campaign']}&strategy=top&k=50",
        f"/campaigns/{built['campaign']}",
        f"/campaigns/{built['demo_campaign']}",
        f"/campaigns/{built['demo_campaign']}/audit",
    ]


def measure(url: str, built: dict[int, dict[str, Any]], repeat: int) -> dict[str, Any]:
    app = _app(url)
    results: dict[str, dict[int, tuple[int, float, float]]] = {}
    for size, facts in built.items():
        client = app.test_client()
        sign_in(client, facts["email"])
        for path in urls(facts):
            shown = path.replace(facts["top"], "<top advocate>")
            shown = re.sub(r"campaign=\d+", "campaign=<active>", shown)
            shown = shown.replace(f"/campaigns/{facts['campaign']}", "/campaigns/<active>")
            shown = shown.replace(f"/campaigns/{facts['demo_campaign']}", "/campaigns/<demo>")
            results.setdefault(shown, {})[size] = time_page(client, path, repeat)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,100000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep and reuse the database")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with database(args.keep) as (url, fresh):
        built = {}
        for size in sizes:
            started = time.perf_counter()
            built[size] = build(url, size) if fresh else find_built(url, size)
            print(f"{size:,} customers ready in {time.perf_counter() - started:.0f} s")
        analyze(url)
        results = measure(url, built, args.repeat)
    header = " | ".join(f"{s:,} customers: median / max ms" for s in sizes)
    print(f"\n| page | {header} |\n|---|" + "---|" * len(sizes))
    for shown, by_size in results.items():
        cells = []
        for size in sizes:
            status, median, worst = by_size.get(size, (0, 0.0, 0.0))
            over = " **over target**" if median > TARGETS_MS.get(size, 1000) else ""
            note = "" if status == 200 else f" ({status})"
            cells.append(f"{median:.0f} / {worst:.0f}{note}{over}")
        print(f"| `{shown}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
