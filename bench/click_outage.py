"""PostgreSQL away for 10 s under a click load: clicks answered against clicks recorded.

The service runs as shipped (gunicorn.conf.py, production settings) on a scratch database,
reaching PostgreSQL through a loopback TCP proxy started here (tests/tcpproxy.py). wrk
clicks 200 links for ``--duration`` seconds; after ``--before`` seconds the proxy is cut
(open connections dropped, new ones refused: to the service, the database is down) for
``--outage`` seconds, then restored. The shared PostgreSQL server itself never stops.

After a graceful stop (every worker writes its queue) the clicks in the table are counted
and compared with the redirects wrk received. Expected: every request answered with a
redirect (known links are served from their last known state, click ids come from the
reserve), and every redirect recorded once the database is back.

    .venv/bin/python bench/click_outage.py [--duration 30] [--before 10] [--outage 10]
                                           [--workers 2] [--no-recycling]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _harness import gunicorn, scratch_database  # noqa: E402
from click_path import LUA, UNLIMITED, count_clicks, seed, wrk  # noqa: E402

from tests.tcpproxy import TcpProxy  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=30, help="seconds of load")
    parser.add_argument("--before", type=float, default=10, help="seconds before the cut")
    parser.add_argument("--outage", type=float, default=10, help="seconds without PostgreSQL")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--links", type=int, default=200)
    parser.add_argument(
        "--no-recycling",
        action="store_true",
        help="GUNICORN_MAX_REQUESTS=0: no worker recycling",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")

    with tempfile.TemporaryDirectory() as tmp, scratch_database("advocacy_bench_outage") as url:
        tokens = seed(url, args.links)
        script = Path(tmp) / "r.lua"
        script.write_text(LUA % (", ".join(f'"{t}"' for t in tokens), "/r/"))
        with TcpProxy("127.0.0.1", 5432) as proxy:
            proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
            env = {
                "CLICK_RATE_LIMIT": UNLIMITED,
                "INVALID_LINK_RATE_LIMIT": UNLIMITED,
                "GUNICORN_WORKERS": str(args.workers),
            }
            if args.no_recycling:
                env["GUNICORN_MAX_REQUESTS"] = "0"
            with gunicorn(proxied, **env) as base:
                events: list[str] = []

                def outage() -> None:
                    time.sleep(args.before)
                    proxy.cut()
                    events.append(f"cut at {args.before:.0f} s")
                    time.sleep(args.outage)
                    proxy.restore()
                    events.append(f"restored at {args.before + args.outage:.0f} s")

                cutter = threading.Thread(target=outage, daemon=True)
                cutter.start()
                result = wrk(base, script, args.duration)
                cutter.join()
            # gunicorn stopped gracefully: every worker has written its queue
        recorded = count_clicks(url)

    answered = int(result["requests"])
    redirects = answered - int(result["bad"])
    print(
        f"GET /r/<token> under wrk for {args.duration} s, {args.workers} workers, PostgreSQL "
        f"cut for {args.outage:.0f} s ({', '.join(events)}), "
        f"{os.cpu_count()} CPUs"
    )
    print(f"  answered            {answered:9,d}   ({result['rps']:,.0f} req/s)")
    print(f"  redirects (302)     {redirects:9,d}")
    print(f"  errors (not 2xx/3xx){int(result['bad']):9,d}")
    print(f"  clicks recorded     {recorded:9,d}")
    lost = max(0, redirects - recorded)
    print(f"  redirects not recorded {lost:,d}")
    ok = result["bad"] == 0 and lost == 0
    print("  every click answered and recorded" if ok else "  CLICKS FAILED OR LOST")


if __name__ == "__main__":
    main()
