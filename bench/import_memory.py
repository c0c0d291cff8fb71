"""Worker memory of oversized import rows: one CSV row of millions of cells, one huge
NDJSON line, each sent to POST /api/v1/imports of gunicorn (production settings, one worker)
on a scratch PostgreSQL database. Prints the worker's resident memory before each request
and its peak during the request (VmHWM, reset before each), and the answer.

    .venv/bin/python bench/import_memory.py [--csv-mb 28] [--ndjson-mb 50]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import create_workspace_key, gunicorn, scratch_database  # noqa: E402


def _worker_pid(master_port: int) -> int:
    """The one gunicorn worker: the process listening on the port that is not the master."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if b"gunicorn" in cmdline and f"127.0.0.1:{master_port}".encode() in cmdline:
            ppid = int(next(ln for ln in text.splitlines() if ln.startswith("PPid:")).split()[1])
            pids.append((int(status.parent.name), ppid))
    children = [pid for pid, ppid in pids if ppid in {p for p, _ in pids}]
    if len(children) != 1:
        raise RuntimeError(f"expected one worker, found {children}")
    return children[0]


def _memory_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def _post(base: str, key: str, content_type: str, body: bytes) -> tuple[int, str]:
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    # The server may answer (413/422) before the whole body is sent: its answer then waits.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        conn.request(
            "POST",
            "/api/v1/imports?kind=customers",
            body=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
        )
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    try:
        detail = json.loads(text).get("detail") or text[:120]
    except ValueError:
        detail = text[:120]
    return response.status, str(detail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv-mb", type=int, default=28)
    parser.add_argument("--ndjson-mb", type=int, default=50)
    args = parser.parse_args()
    cells = args.csv_mb * 1024 * 1024 // 3  # two-character cells: each its own str object
    files = [
        ("CSV, one row", "text/csv", b"external_id\n" + b"ab," * cells + b"\n"),
        (
            "NDJSON, one line",
            "application/x-ndjson",
            b'{"external_id": "' + b"x" * (args.ndjson_mb * 1024 * 1024) + b'"}\n',
        ),
    ]
    with scratch_database("adv_privacy_bench_import") as url:
        key = create_workspace_key(url)
        with gunicorn(url, GUNICORN_WORKERS="1") as base:
            worker = _worker_pid(urlsplit(base).port or 0)
            print(f"{'file':<18} {'size':>9} {'RSS before':>11} {'peak after':>11}  answer")
            for name, content_type, body in files:
                # Reset the peak to the current size (proc(5), clear_refs), then measure.
                Path(f"/proc/{worker}/clear_refs").write_text("5")
                before = _memory_mib(worker, "VmRSS")
                status, detail = _post(base, key, content_type, body)
                peak = _memory_mib(worker, "VmHWM")
                size = f"{len(body) / 2**20:.0f} MiB"
                print(
                    f"{name:<18} {size:>9} {before:>8.0f} MiB {peak:>7.0f} MiB  {status} {detail}"
                )


if __name__ == "__main__":
    main()
