"""KPI endpoint at scale: a campaign with 1M clicks and 50k conversions on PostgreSQL.

Bulk-loads a scratch database with COPY (1,000 advocates with 20 connections each, 1,000
links, 5,000 shares, 1M clicks over 30 days, 50k attributed purchases with two rewards each),
then times ``GET /api/v1/campaigns/{id}/kpis`` (30 days, daily, Europe/Berlin) and the
per-advocate KPIs on a gunicorn server, once every worker is warm (median of 5 requests).
Target: under 1 s each. Prints the figures.

    .venv/bin/python bench/kpis.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _harness import create_workspace_key, gunicorn, scratch_database  # noqa: E402

ADVOCATES, INVITEES, FRIENDS = 1_000, 50_000, 20
CLICKS, CONVERSIONS, SHARES = 1_000_000, 50_000, 5_000
START = datetime(2026, 3, 1, tzinfo=UTC)
DAYS = 30
BASE = 1_000_000  # explicit ids, clear of anything the API created


def load(database_url: str) -> int:
    import psycopg

    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        ws = conn.execute("SELECT id FROM workspaces ORDER BY id LIMIT 1").fetchone()[0]  # type: ignore[index]
        campaign = BASE
        conn.execute(
            "INSERT INTO campaigns (id, workspace_id, name, objective, status, one_sided,"
            " inviter_reward_kind, inviter_reward_amount, inviter_reward_currency,"
            " trigger_event, min_order_amount, first_purchase_only, attribution_window_days,"
            " attribution_model, hold_days, landing_url, translations, created_at, updated_at)"
            " VALUES (%s, %s, 'Bench', 'conversion', 'active', true, 'credit', 1000, 'EUR',"
            " 'purchase', 0, false, 30, 'last_click', 0, 'https://shop.example/', '{}', %s, %s)",
            (campaign, ws, now, now),
        )
        advocate = range(BASE, BASE + ADVOCATES)
        invitee = range(BASE + ADVOCATES, BASE + ADVOCATES + INVITEES)

        def copy(table: str, columns: str, rows: object) -> None:
            with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as out:
                for row in rows:  # type: ignore[attr-defined]
                    out.write_row(row)

        copy(
            "customers",
            "id, workspace_id, external_id, consent_email, consent_sms, consent_social,"
            " attributes, created_at, updated_at",
            ((i, ws, f"c{i}", True, False, False, "{}", now, now) for i in (*advocate, *invitee)),
        )
        copy(
            "connections",
            "id, workspace_id, source_id, target_id, channel, replies, likes, shares, messages,"
            " follows, created_at, updated_at",
            (
                (BASE + a * FRIENDS + f, ws, invitee[(a * 7 + f * 131) % INVITEES], advocate[a],
                 "x", 1, 0, 0, 0, True, now, now)
                for a in range(ADVOCATES)
                for f in range(FRIENDS)
            ),
        )  # fmt: skip
        copy(
            "enrollments",
            "id, workspace_id, campaign_id, customer_id, method, enrolled_at",
            ((BASE + a, ws, campaign, advocate[a], "manual", START) for a in range(ADVOCATES)),
        )
        copy(
            "referral_links",
            "id, workspace_id, campaign_id, enrollment_id, advocate_id, channel, invitee_key,"
            " token, created_at, expires_at",
            (
                (BASE + a, ws, campaign, BASE + a, advocate[a], "x", "", f"t{a}",
                 START + timedelta(hours=a % (24 * DAYS)), START + timedelta(days=365))
                for a in range(ADVOCATES)
            ),
        )  # fmt: skip
        copy(
            "shares",
            "id, workspace_id, share_id, campaign_id, advocate_id, channel, link_id, impressions,"
            " occurred_at, created_at",
            (
                (BASE + s, ws, f"s{s}", campaign, advocate[s % ADVOCATES], "x",
                 BASE + s % ADVOCATES, 100, START + timedelta(minutes=s * 8), now)
                for s in range(SHARES)
            ),
        )  # fmt: skip
        span = DAYS * 86_400
        copy(
            "clicks",
            "id, workspace_id, campaign_id, link_id, visitor_id, ip_hash, unique_visit, clicked_at",
            (
                (BASE + c, ws, campaign, BASE + c % ADVOCATES, f"v{c % 300_000}", "h", True,
                 START + timedelta(seconds=c * span // CLICKS))
                for c in range(CLICKS)
            ),
        )  # fmt: skip
        when = [START + timedelta(seconds=k * span // CONVERSIONS) for k in range(CONVERSIONS)]
        copy(
            "conversions",
            "id, workspace_id, event_id, event, customer_id, amount, currency, occurred_at,"
            " fingerprint, attributed, refunded_amount, created_at",
            (
                (BASE + k, ws, f"o{k}", "purchase", invitee[k % INVITEES], 5_000, "EUR", when[k],
                 "f", True, 0, now)
                for k in range(CONVERSIONS)
            ),
        )  # fmt: skip
        copy(
            "referrals",
            "id, workspace_id, campaign_id, conversion_id, link_id, advocate_id, invitee_id,"
            " evidence, touched_at, state, created_at, updated_at",
            (
                (BASE + k, ws, campaign, BASE + k, BASE + k % ADVOCATES, advocate[k % ADVOCATES],
                 invitee[k % INVITEES], "ref", when[k], "converted", now, now)
                for k in range(CONVERSIONS)
            ),
        )  # fmt: skip
        copy(
            "rewards",
            "id, workspace_id, campaign_id, conversion_id, referral_id, role, beneficiary_id,"
            " kind, amount, currency, state, reasons, created_at, updated_at",
            (
                (BASE + k, ws, campaign, BASE + k, BASE + k, "inviter", advocate[k % ADVOCATES],
                 "credit", 1000, "EUR", "issued" if k % 3 else "pending", "[]", now, now)
                for k in range(CONVERSIONS)
            ),
        )  # fmt: skip
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        # Write the loaded pages out now, not while the requests are timed.
        conn.execute("CHECKPOINT")
    return campaign


def fetch(url: str, key: str) -> dict[str, object]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def warm_up(urls: list[str], key: str, rounds: int = 25) -> None:
    """Cheap requests to each endpoint until every gunicorn worker has served some.

    The harness returns once one worker answers, while the others are still importing the
    app; and each worker opens its database connection and fills its caches on its first
    requests. Without this, the figures below measure gunicorn starting up.
    """
    for _ in range(rounds):
        for url in urls:
            fetch(url, key)


def timed(url: str, key: str, runs: int = 5) -> tuple[float, dict[str, object]]:
    samples, body = [], {}
    for _ in range(runs + 1):  # the first run warms caches and is not counted
        began = time.perf_counter()
        body = fetch(url, key)
        samples.append(time.perf_counter() - began)
    return statistics.median(samples[1:]), body


def main() -> None:
    with scratch_database("bench_kpis") as url:
        key = create_workspace_key(url)
        began = time.perf_counter()
        campaign = load(url)
        print(f"loaded {CLICKS:,} clicks, {CONVERSIONS:,} conversions in "
              f"{time.perf_counter() - began:.1f} s")  # fmt: skip
        with gunicorn(url) as base:
            one_day = "from=2026-03-01&to=2026-03-01&tz=Europe/Berlin"
            warm_up(
                [f"{base}/api/v1/campaigns/{campaign}/{path}?{one_day}"
                 for path in ("kpis", "advocates/kpis")],
                key,
            )  # fmt: skip
            query = "from=2026-03-01&to=2026-03-30&tz=Europe/Berlin"
            seconds, body = timed(f"{base}/api/v1/campaigns/{campaign}/kpis?{query}", key)
            totals = body["totals"]
            print(f"campaign KPIs, 30 daily periods: {seconds * 1000:.0f} ms (target < 1000 ms); "
                  f"clicks={totals['clicks']} conversions={totals['conversions']} "  # type: ignore[index]
                  f"reach={totals['reach']}")  # type: ignore[index]  # fmt: skip
            seconds, _ = timed(f"{base}/api/v1/campaigns/{campaign}/advocates/kpis?{query}", key)
            print(f"advocate KPIs, 1,000 advocates: {seconds * 1000:.0f} ms (target < 1000 ms)")


if __name__ == "__main__":
    main()
