"""Real servers for the tests of the deployment: free loopback ports, gunicorn and nginx
started as processes and stopped (the whole process group) afterwards."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A loopback port nothing listens on (closed again when returned)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gunicorn_command(port: int) -> list[str]:
    """The production gunicorn.conf.py serving wsgi:app on 127.0.0.1:``port``."""
    return [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"] + [
        "--bind",
        f"127.0.0.1:{port}",
        "wsgi:app",
    ]


def _healthy(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@contextmanager
def serving(
    command: list[str], port: int, log: Path, env: Mapping[str, str], *, start_seconds: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` (output to ``log``) until /healthz answers on ``port``; SIGTERM
    its process group afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdout=out, stderr=out, start_new_session=True
        )
    try:
        deadline = time.monotonic() + start_seconds
        while not _healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
