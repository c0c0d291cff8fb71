"""gunicorn settings for advocacy: `gunicorn --config gunicorn.conf.py wsgi:app`.

Every value can be overridden from the environment (GUNICORN_WORKERS, GUNICORN_THREADS,
GUNICORN_TIMEOUT, GUNICORN_MAX_REQUESTS, GUNICORN_RECYCLE_SPACING) or the command line.
In production nginx stands in front (deploy/nginx/advocacy.conf).
"""

import gc
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

from advocacy import serving
from advocacy.config import check_worker_count, is_sqlite

_database_url = os.environ.get("DATABASE_URL", "")
_sqlite = not _database_url or is_sqlite(_database_url)

# SQLite has one writer: a single process with threads. PostgreSQL: a process per core (at
# least two, so one can restart while the other serves), each with 4 threads. gunicorn's
# "2 x cores + 1" is advice for sync workers, one request at a time each; a gthread worker
# already overlaps its requests' waits, and more processes than cores only add context
# switches and GIL hand-offs. Measured on 2 cores (bench/click_path.py, bench/conversions.py):
# 2 processes serve 5 to 10% more redirects than 5 (the bare Flask app too) and 10 to 25%
# more conversions, at a lower p99; 8 threads instead of 4 cost a third of the redirects.
workers = int(
    os.environ.get("GUNICORN_WORKERS", 1 if _sqlite else max(2, multiprocessing.cpu_count()))
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
# Recycling is ours, not gunicorn's max_requests (see advocacy/serving.py): a worker past
# RECYCLE_AFTER requests (plus up to 10% jitter) exits only when every worker is up (the
# last one replaced included) and none has for RECYCLE_SPACING seconds, so workers never
# restart together. 0 turns it off; so does a single worker, whose restart would leave
# nobody to accept connections.
max_requests = 0
RECYCLE_AFTER = int(os.environ.get("GUNICORN_MAX_REQUESTS", 100_000))
RECYCLE_SPACING = float(os.environ.get("GUNICORN_RECYCLE_SPACING", 10))
accesslog = None  # the app logs one JSON line per request itself
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# This master's own directory (recycling turns; metrics unless PROMETHEUS_MULTIPROC_DIR is
# given), removed at exit; those of masters that died without cleaning up go at start.
RUNTIME = serving.runtime_directory()
# gunicorn's control socket (gunicornc) there too: its default, ~/.gunicorn/gunicorn.ctl, is
# one path for every gunicorn of the user, each new master taking it from the last.
control_socket = str(RUNTIME / "gunicorn.ctl")
if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    (RUNTIME / "metrics").mkdir()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(RUNTIME / "metrics")


def on_starting(server):  # noqa: ANN001 - gunicorn hook
    check_worker_count(os.environ.get("DATABASE_URL", "") or "sqlite://", server.cfg.workers)
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        serving.wipe_metrics(Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]))


def on_exit(server):  # noqa: ANN001 - gunicorn hook
    serving.remove_runtime_directory(RUNTIME)


def pre_fork(server, worker):  # noqa: ANN001 - gunicorn hook, in the master
    worker.advocacy_slot = serving.free_slot(
        getattr(w, "advocacy_slot", None) for w in server.WORKERS.values()
    )


def post_fork(server, worker):  # noqa: ANN001 - gunicorn hook, in the new worker
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        serving.use_metrics_slot(worker.advocacy_slot)
    recycles = RECYCLE_AFTER > 0 and server.cfg.workers > 1
    worker.advocacy_recycle_after = (
        RECYCLE_AFTER + random.randint(0, RECYCLE_AFTER // 10) if recycles else None
    )
    worker.advocacy_next_try = 0.0


def post_worker_init(worker):  # noqa: ANN001 - gunicorn hook, in the worker, app loaded
    # The loaded app is some 200,000 objects that live as long as the worker: out of the
    # garbage collector's sight. A full collection scanned them all, about 100 ms with
    # the GIL held, stalling every request of the worker (gc.collect() after create_app(),
    # measured here; after gc.freeze(): under 0.1 ms). 60,000 clicks in one process: the
    # longest young collection 1.3 ms, 0.2 ms with the app frozen.
    gc.freeze()
    serving.mark_ready(RUNTIME, worker.pid)


def post_request(worker, req, environ, resp):  # noqa: ANN001 - gunicorn hook, in the worker
    if worker.advocacy_recycle_after is None or worker.nr < worker.advocacy_recycle_after:
        return
    now = time.time()
    if now < worker.advocacy_next_try:
        return
    worker.advocacy_next_try = now + 1  # one look at the turn a second, not one a request
    if serving.claim_recycling_turn(
        RUNTIME, pid=worker.pid, workers=worker.cfg.workers, now=now, spacing=RECYCLE_SPACING
    ):
        worker.log.info("Recycling worker after %s requests (turn at %.3f)", worker.nr, now)
        os.kill(os.getpid(), signal.SIGTERM)  # gunicorn's graceful exit; the master replaces it


def child_exit(server, worker):  # noqa: ANN001 - gunicorn hook, in the master
    serving.forget_worker(RUNTIME, worker.pid)
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        slot = getattr(worker, "advocacy_slot", None)
        if slot is not None:
            multiprocess.mark_process_dead(serving.slot_identifier(slot))
