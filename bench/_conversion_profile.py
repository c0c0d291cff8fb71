"""What one conversion sends to the database, and where the workers' time goes under load
(py-spy): the measuring half of ``bench/conversions.py``, kept apart from the load itself."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def count_statements(
    app: Any, client: Any, body: dict[str, Any], headers: dict[str, str]
) -> list[str]:
    """The statements one more conversion (like the last one, new ids) sends, in order
    (BEGIN and COMMIT are not statements the driver is asked to run)."""
    from sqlalchemy import event

    from advocacy.extensions import db

    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()))

    counted = f"{body['event_id']}-counted"
    body = {**body, "event_id": counted, "invitee": {**body["invitee"], "external_id": counted}}
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.post(
            "/api/v1/conversions", json=body, headers={**headers, "Idempotency-Key": counted}
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 201, response.get_json()
    return sent


LAYERS = (  # first match from the innermost frame outwards
    ("waiting for PostgreSQL (psycopg)", ("psycopg/",)),
    ("SQLAlchemy (statements, results)", ("sqlalchemy/",)),
    ("marshmallow, webargs (bodies in and out)", ("marshmallow/", "webargs/", "apispec/")),
    ("advocacy (rules, attribution, fraud, views)", ("advocacy/",)),
    ("JSON", ("json/", "orjson")),
    ("Flask, flask-smorest, Werkzeug, gunicorn", ("flask", "werkzeug/", "gunicorn/")),
)


def profile(base: str, seconds: int) -> subprocess.Popen[str] | None:
    """py-spy recording the gunicorn workers (idle samples left out) for ``seconds``."""
    spy = Path(sys.executable).parent / "py-spy"
    port = base.rsplit(":", 1)[1]
    master = subprocess.run(
        ["pgrep", "-f", f"gunicorn.*127.0.0.1:{port}"], capture_output=True, text=True
    ).stdout.split()
    if not spy.exists() or not master:
        print("  (no profile: pip install py-spy into the venv)")
        return None
    return subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            master[0],
            "--subprocesses",
            "--format",
            "raw",
            "--duration",
            str(seconds),
            "--rate",
            "200",
            "--nonblocking",
            "-o",
            "/dev/stdout",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


TOP_FRAMES = 8


def profile_summary(
    recording: subprocess.Popen[str],
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """Share of the workers' busy samples per layer, by the innermost frame's layer; and
    the innermost frames (function and file) taking the most samples."""
    out, _ = recording.communicate()
    counts: dict[str, int] = {}
    innermost: dict[str, int] = {}
    total = 0
    for line in out.splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit() or not stack:
            continue
        frames = stack.split(";")
        top = re.sub(r":\d+\)$", ")", frames[-1])  # the function, not its line
        innermost[top] = innermost.get(top, 0) + int(number)
        layer = "other (Python, threads, sockets)"
        for frame in reversed(frames):
            found = next((name for name, marks in LAYERS if any(m in frame for m in marks)), None)
            if found:
                layer = found
                break
        counts[layer] = counts.get(layer, 0) + int(number)
        total += int(number)

    def shares(found: dict[str, int]) -> list[tuple[str, float]]:
        return sorted(((k, v / max(total, 1)) for k, v in found.items()), key=lambda kv: -kv[1])

    return shares(counts), shares(innermost)[:TOP_FRAMES]


def print_statements_and_profile(
    statements: list[str],
    listed: bool,
    layers: list[tuple[str, float]],
    frames: list[tuple[str, float]],
) -> None:
    print(f"  statements per conversion: {len(statements)}")
    if listed:
        for number, statement in enumerate(statements, 1):
            print(f"    {number:2}. {statement[:160]}")
    if layers:
        print("  py-spy over the workers during the saturated run (busy samples):")
        for layer, share in layers:
            print(f"    {share:6.1%}  {layer}")
        print("  py-spy, innermost frames taking the most busy samples:")
        for frame, share in frames:
            print(f"    {share:6.1%}  {frame[:110]}")


def _rows_read(database_url: str) -> int:
    """Rows and index entries read so far in the database (pg_stat_database's
    tup_returned: sequential-scan rows plus index entries returned). Backends report
    their counts at most once a second: a pause before reading keeps what is missed small."""
    import psycopg
    from _harness import PG_ADMIN_URL

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT tup_returned FROM pg_stat_database WHERE datname = %s",
            (name,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def growth_rounds(
    load: Callable[[str], dict[str, float]], database_url: str, rounds: int
) -> list[tuple[float, float]]:
    """More saturated runs on the same, growing database (``load(label)`` runs one):
    each one's throughput, and the rows and index entries PostgreSQL read per conversion.
    Flat figures mean a conversion's work does not grow with the data already there."""
    measured = []
    for n in range(rounds):
        time.sleep(2)  # the last run's abandoned requests drain; the statistics flush
        read_before = _rows_read(database_url)
        result = load(f"grow{n}")
        time.sleep(1.5)
        read_after = _rows_read(database_url)
        measured.append((result["rps"], (read_after - read_before) / max(result["requests"], 1)))
    return measured
