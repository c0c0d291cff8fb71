"""Shared by the benchmarks: a scratch PostgreSQL database, a gunicorn server, a key.

Benchmarks talk to a real server over loopback only, and clean up after themselves.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_SECRET = "bench-secret-key-0123456789abcdef-0123456789"


def pg_url(database: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"


@contextlib.contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database migrated to head; dropped afterwards."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_url(name)
    try:
        subprocess.run(
            [str(BIN / "flask"), "--app", "advocacy", "db", "upgrade"],
            cwd=ROOT,
            env=bench_env(url),
            check=True,
            capture_output=True,
        )
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        ADVOCACY_ENV="production",
        SECRET_KEY=BENCH_SECRET,
        REFERRAL_SIGNING_KEYS="bench-signing-key-0123456789abcdef",
        PUBLIC_BASE_URL="https://go.bench.example",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def create_workspace_key(database_url: str, name: str = "Bench") -> str:
    out = subprocess.run(
        [str(BIN / "flask"), "--app", "advocacy", "workspaces", "create", name],
        cwd=ROOT,
        env=bench_env(database_url),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip().rsplit(" ", 1)[-1]


def two_sided_campaign(workspace_id: int, **overrides: object) -> object:
    """The benches' active two-sided campaign (EUR 10 credit for the advocate, a EUR 15
    coupon for the friend, on a purchase); ``overrides`` set any other column."""
    from advocacy.campaigns.models import Campaign

    columns: dict[str, object] = {
        "workspace_id": workspace_id,
        "name": "Bench",
        "objective": "conversion",
        "status": "active",
        "inviter_reward_kind": "credit",
        "inviter_reward_amount": 1000,
        "inviter_reward_currency": "EUR",
        "invitee_reward_kind": "coupon",
        "invitee_reward_amount": 1500,
        "invitee_reward_currency": "EUR",
        "trigger_event": "purchase",
        "landing_url": "https://shop.example/welcome",
        "disclosure": "Your friend gets EUR 10 credit.",
        "translations": {},
    }
    return Campaign(**{**columns, **overrides})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def gunicorn(
    database_url: str,
    app: str = "wsgi:app",
    args: tuple[str, ...] = (),
    log: Path | None = None,
    **env: str,
) -> Iterator[str]:
    """Serve ``app`` with the production gunicorn.conf.py on a free loopback port
    (``args``: more command-line options; ``log``: where gunicorn's own log goes)."""
    with gunicorn_process(database_url, app, args, log, **env) as (base, _pid):
        yield base


@contextlib.contextmanager
def gunicorn_process(
    database_url: str,
    app: str = "wsgi:app",
    args: tuple[str, ...] = (),
    log: Path | None = None,
    **env: str,
) -> Iterator[tuple[str, int]]:
    """``gunicorn``, also yielding the master's pid (for py-spy)."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py"]
    # A file, not a pipe: a pipe nobody reads fills up and blocks the server's logging.
    with log.open("w+b") if log else tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(
            [*command, "--bind", f"127.0.0.1:{port}", *args, app],
            cwd=ROOT,
            env=bench_env(database_url, **env),
            stdout=subprocess.DEVNULL,
            stderr=output,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120  # five workers booting on a busy machine
            while True:
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=5):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        output.seek(0)
                        raise RuntimeError(
                            "gunicorn did not start: " + output.read().decode(errors="replace")
                        ) from None
                    time.sleep(0.2)
            yield base, proc.pid
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
