"""gunicorn settings for advocacy: `gunicorn --config gunicorn.conf.py wsgi:app`.

Every value can be overridden from the environment (GUNICORN_WORKERS,
GUNICORN_THREADS, GUNICORN_TIMEOUT) or the command line.
"""

import multiprocessing
import os
import tempfile

from advocacy.config import check_worker_count, is_sqlite

_database_url = os.environ.get("DATABASE_URL", "")
_sqlite = not _database_url or is_sqlite(_database_url)

# SQLite has one writer: a single process with threads. PostgreSQL: a process per core, and more.
workers = int(
    os.environ.get("GUNICORN_WORKERS", 1 if _sqlite else multiprocessing.cpu_count() * 2 + 1)
)
threads = int(os.environ.get("GUNICORN_THREADS", 8 if _sqlite else 4))
worker_class = "gthread"
# One listening socket per worker (SO_REUSEPORT): the kernel spreads new connections over
# the workers. With one shared socket, whichever worker wakes first accepts them all, and
# with keep-alive (a load balancer, or wrk's 32 connections) one worker (one GIL) serves
# every request while the others idle. Linux >= 3.9; elsewhere gunicorn ignores it.
reuse_port = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
max_requests = 10_000
max_requests_jitter = 1_000
accesslog = None  # the app logs one JSON line per request itself
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Several processes share Prometheus metrics through files in this directory.
if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="advocacy-metrics-")


def on_starting(server):  # noqa: ANN001 - gunicorn hook
    check_worker_count(os.environ.get("DATABASE_URL", "") or "sqlite://", server.cfg.workers)


def child_exit(server, worker):  # noqa: ANN001 - gunicorn hook
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
