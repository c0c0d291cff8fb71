"""Every console page's server time, on the demo workspace and on a 100k-customer one.

Builds the demo workspace (``flask demo``, 2,000 customers, ranked) and a 100,000-customer
demo workspace in a scratch PostgreSQL database, adds an active campaign to each (the
demo's own campaign has ended) and an owner, serves the app with the production gunicorn
settings, signs in through the real form and times each page: every console page without
a path parameter found in the URL map (so pages added later are timed too), plus a
person's page, filtered, sorted and re-weighted rankings, and the selection. Each URL is
requested twice to warm every worker, then ``--repeat`` times; the median and the slowest
are printed (loopback, so the time is the server's). Targets: 300 ms and 1 s.

    .venv/bin/python bench/console.py [--sizes 2000,100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _harness import BIN, ROOT, bench_env, gunicorn, scratch_database  # noqa: E402

EMAIL, PASSWORD = "bench-owner@staff.example", "bench password for the console"
TARGETS_MS = {2000: 300, 100_000: 1000}


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
    from advocacy import create_app
    from advocacy.advocates.service import list_advocates
    from advocacy.campaigns.models import Campaign
    from advocacy.console import accounts
    from advocacy.demo.command import find_workspace
    from advocacy.demo.population import PLANTED
    from advocacy.extensions import db
    from advocacy.types import utcnow

    os.environ.update(bench_env(url))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        workspace = find_workspace(db.session, name)
        assert workspace is not None
        campaign = Campaign(
            workspace_id=workspace.id,
            name="Bench friends",
            objective="conversion",
            status="active",
            inviter_reward_kind="credit",
            inviter_reward_amount=1000,
            inviter_reward_currency="EUR",
            invitee_reward_kind="coupon",
            invitee_reward_amount=1500,
            invitee_reward_currency="EUR",
            trigger_event="purchase",
            landing_url=f"https://{workspace.allowed_domains[0]}/welcome",
            disclosure="Your friend gets EUR 10 credit.",
            translations={},
            starts_at=utcnow(),
        )
        db.session.add(campaign)
        email = f"{customers}-{EMAIL}"
        accounts.add_staff(
            db.session, email=email, password=PASSWORD, workspace_id=workspace.id, role="owner"
        )
        db.session.commit()
        campaign_id = campaign.id
        _, top, _ = list_advocates(db.session, workspace.id, objective="conversion", limit=1)
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
        "email": email,
        "campaign": campaign_id,
        "top": top[0].external_id,
        "detractor": PLANTED["loud_detractor"],
        "pages": sorted(pages),
    }


class Session:
    """A signed-in browser: cookies by hand (the session cookie is Secure; this is http)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)
        request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            response = opener.open(request, timeout=60)
        except urllib.error.HTTPError as error:
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.read().decode()

    def sign_in(self, email: str) -> None:
        _, page = self.request("/login")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert token, "no CSRF token on the sign-in page"
        status, _ = self.request(
            "/login", {"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        assert status == 302, f"sign-in failed: {status}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def time_page(session: Session, path: str, repeat: int) -> tuple[int, float, float]:
    for _ in range(2):
        status, _ = session.request(path)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        status, _ = session.request(path)
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
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,100000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with scratch_database("adv_bench_console") as url:
        built = {}
        for size in sizes:
            started = time.perf_counter()
            built[size] = build(url, size)
            print(f"built {size:,} customers in {time.perf_counter() - started:.0f} s")
        with gunicorn(url) as base:
            results: dict[str, dict[int, tuple[int, float, float]]] = {}
            for size in sizes:
                session = Session(base)
                session.sign_in(built[size]["email"])
                for path in urls(built[size]):
                    shown = path.replace(built[size]["top"], "<top advocate>")
                    shown = re.sub(r"campaign=\d+", "campaign=<active>", shown)
                    results.setdefault(shown, {})[size] = time_page(session, path, args.repeat)
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
