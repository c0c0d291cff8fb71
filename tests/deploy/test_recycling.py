"""Worker recycling under load: one worker at a time, no refused connection, and metrics
files that neither pile up nor lose counts.

gunicorn serves /healthz from two workers that recycle every 40 requests or so; the
database URL points nowhere (a PostgreSQL URL, so two workers are allowed): /healthz and
/metrics never touch it.
"""

from __future__ import annotations

import os
import re
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from advocacy import serving as runtime_files
from tests.servers import free_port, gunicorn_command, serving

SPACING = 1.0
RECYCLES = 2  # load until this many workers have recycled (a busy machine boots slowly)
MAX_LOAD_SECONDS = 120.0
TURN = re.compile(r"Recycling worker after \d+ requests \(turn at ([\d.]+)\)")


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def _load(url: str, log: Path) -> Counter[str]:
    """Four clients, a new connection per request, until RECYCLES workers have recycled
    and one more second has passed: outcomes by kind."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + MAX_LOAD_SECONDS
    done = threading.Event()

    def watch() -> None:
        while time.monotonic() < deadline and len(TURN.findall(log.read_text())) < RECYCLES:
            time.sleep(0.2)
        time.sleep(1)
        done.set()

    def client() -> None:
        while not done.is_set():
            try:
                _get(url)
                kind = "ok"
            except urllib.error.URLError as error:
                kind = type(error.reason).__name__
            except OSError as error:
                kind = type(error).__name__
            with lock:
                outcomes[kind] += 1

    threads = [threading.Thread(target=client) for _ in range(4)]
    threads.append(threading.Thread(target=watch))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _healthz_count(metrics: str) -> float:
    pattern = r'advocacy_http_request_duration_seconds_count\{[^}]*url_rule="/healthz"[^}]*\} (\S+)'
    return sum(float(value) for value in re.findall(pattern, metrics))


@pytest.fixture(scope="module")
def recycled(tmp_path_factory: pytest.TempPathFactory):
    """Serve, load for LOAD_SECONDS, scrape, stop: what happened, for the tests below."""
    temporary = tmp_path_factory.mktemp("gunicorn")
    closed = free_port()
    port = free_port()
    env = {
        **os.environ,
        "TMPDIR": str(temporary),
        "ADVOCACY_ENV": "test",
        "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{closed}/nowhere",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
        "GUNICORN_MAX_REQUESTS": "40",
        "GUNICORN_RECYCLE_SPACING": str(SPACING),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = temporary / "gunicorn.log"
    with serving(gunicorn_command(port), port, log, env):
        base = f"http://127.0.0.1:{port}"
        (runtime,) = temporary.glob(runtime_files.RUNTIME_PREFIX + "*")
        counted_before = _healthz_count(_get(base + "/metrics"))
        outcomes = _load(base + "/healthz", log)
        time.sleep(SPACING)  # let the last replacement boot
        metrics = _get(base + "/metrics")
        files = sorted(p.name for p in (runtime / "metrics").iterdir())
    turns = [float(t) for t in TURN.findall(log.read_text())]
    return {
        "outcomes": outcomes,
        "turns": turns,
        "counted": _healthz_count(metrics) - counted_before,
        "files": files,
        "temporary": temporary,
        "log": log.read_text(),
    }


def test_workers_recycle_one_at_a_time(recycled):
    turns = recycled["turns"]

    assert len(turns) >= 2, recycled["log"]
    assert all(b - a >= SPACING for a, b in zip(turns, turns[1:], strict=False)), turns


def test_no_connection_is_refused_while_workers_recycle(recycled):
    outcomes = recycled["outcomes"]

    assert outcomes["ok"] > 0
    assert outcomes["ConnectionRefusedError"] == 0, outcomes


def test_recycled_workers_take_over_their_predecessors_metrics_files(recycled):
    # Two slots, one file per slot and type: however many workers came and went.
    assert recycled["files"] == [
        "gauge_max_w0.db",
        "gauge_max_w1.db",
        "histogram_w0.db",
        "histogram_w1.db",
    ]


def test_request_counts_survive_recycling(recycled):
    # Every /healthz answered is counted once, by whichever worker (and predecessors) served it.
    outcomes = recycled["outcomes"]

    assert outcomes["ok"] <= recycled["counted"] <= sum(outcomes.values()), outcomes


def test_the_servers_runtime_directory_is_removed_at_exit(recycled):
    assert list(recycled["temporary"].glob(runtime_files.RUNTIME_PREFIX + "*")) == []
