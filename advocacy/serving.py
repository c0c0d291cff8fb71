"""What gunicorn.conf.py does beyond settings: staggered worker recycling, and metrics
files that neither pile up across restarts nor grow with every recycled worker.

Recycling: gunicorn's own ``max_requests`` lets each worker exit on its own count, and with
even load (one listening socket per worker) they reach it together: with two workers both
restarted in the same second and nothing accepted connections. Here a worker past its
count exits only when it gets the *recycling turn* (files in the master's runtime
directory, under ``flock``): when every worker is up, its replacements included, and no
worker has taken the turn for ``spacing`` seconds.

Metrics: prometheus_client's multiprocess mode writes one file per process and type and
reads all of them at every scrape. Named by pid, each recycled worker leaves its files
behind for good. Named by a *slot* (the lowest number no live worker holds), a
replacement takes over its predecessor's files and carries on counting from their values,
so the directory holds a few files per worker however often workers are replaced.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

RUNTIME_PREFIX = "advocacy-gunicorn-"
OWNER_FILE = "master.pid"


RUNTIME_ENV = "ADVOCACY_GUNICORN_RUNTIME"


def runtime_directory(temporary: Path | None = None) -> Path:
    """A directory of this gunicorn master's own, after removing those of dead masters.

    The master reads its configuration again on SIGHUP: the directory it made at start
    is found again (through the environment), not a second one made."""
    known = os.environ.get(RUNTIME_ENV)
    if known and _owner(Path(known)) == os.getpid():
        return Path(known)
    base = Path(temporary or tempfile.gettempdir())
    remove_stale_runtime_directories(base)
    path = Path(tempfile.mkdtemp(prefix=RUNTIME_PREFIX, dir=base))
    (path / OWNER_FILE).write_text(str(os.getpid()))
    os.environ[RUNTIME_ENV] = str(path)
    return path


def _owner(path: Path) -> int | None:
    try:
        return int((path / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return None


def remove_stale_runtime_directories(base: Path) -> list[Path]:
    """Remove the runtime directories whose master is gone (killed, or an older version
    that never cleaned up); a live master's directory stays."""
    removed = []
    for path in base.glob(RUNTIME_PREFIX + "*"):
        owner = _owner(path)
        if owner is not None and _alive(owner):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def remove_runtime_directory(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wipe_metrics(directory: Path) -> None:
    """prometheus_client's rule: the directory is emptied before the server starts."""
    for path in directory.glob("*.db"):
        path.unlink(missing_ok=True)


def free_slot(taken: Iterable[int | None]) -> int:
    """The lowest slot number that no live worker holds."""
    held = {slot for slot in taken if slot is not None}
    slot = 0
    while slot in held:
        slot += 1
    return slot


def slot_identifier(slot: int) -> str:
    """The process identifier of a slot's metrics files (never a pid: ``w0``, ``w1``)."""
    return f"w{slot}"


def use_metrics_slot(slot: int) -> None:
    """In a freshly forked worker, before the app creates its metrics: write to the
    slot's files instead of files named by this process's pid."""
    from prometheus_client import values

    identifier = slot_identifier(slot)
    values.ValueClass = values.MultiProcessValue(lambda: identifier)  # type: ignore[arg-type]


def mark_ready(runtime: Path, pid: int) -> None:
    """A worker has loaded the app and accepts connections."""
    ready = runtime / "ready"
    ready.mkdir(exist_ok=True)
    (ready / str(pid)).touch()


def forget_worker(runtime: Path, pid: int) -> None:
    """A worker has exited (the master reaped it, whatever the reason)."""
    (runtime / "ready" / str(pid)).unlink(missing_ok=True)


def claim_recycling_turn(
    runtime: Path, *, pid: int, workers: int, now: float, spacing: float
) -> bool:
    """Whether the worker ``pid`` may exit to be replaced now.

    Only when every one of the ``workers`` is up (a replacement counts once it has loaded
    the app) and no worker took the turn in the last ``spacing`` seconds. Taking it
    withdraws the worker from the ready ones, so nobody else goes before its replacement
    is up: however long exiting and booting take, at most one worker is away.
    """
    with open(runtime / "recycle.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ready = runtime / "ready"
        mine = ready / str(pid)
        if not mine.exists() or sum(1 for _ in ready.iterdir()) < workers:
            return False
        lock.seek(0)
        try:
            last = float(lock.read().strip())
        except ValueError:
            last = float("-inf")
        if 0 <= now - last < spacing:  # (a clock set back does not block recycling)
            return False
        mine.unlink()
        lock.seek(0)
        lock.truncate()
        lock.write(repr(now))
        lock.flush()
        return True
