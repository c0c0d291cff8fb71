"""The background worker (`flask --app advocacy worker`): settle due rewards, fan out the
webhook outbox, send due deliveries, and (hourly) purge expired idempotency keys.

Like a CLI command, this module owns its transactions: every step commits on its own,
and webhooks are sent outside any transaction (a slow receiver never holds a lock).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from advocacy.api import idempotency
from advocacy.rewards.lifecycle import settle_rewards
from advocacy.types import DbSession, utcnow
from advocacy.webhooks import delivery, signing
from advocacy.webhooks.service import (
    Job,
    dispatch_events,
    lease_deliveries,
    record_outcome,
)

Sender = Callable[..., delivery.Outcome]


@dataclass(frozen=True)
class WorkerSettings:
    max_attempts: int
    retry_base_seconds: int
    timeout_seconds: int
    allow_private: bool
    idempotency_ttl: timedelta
    senders: int = 8  # deliveries sent at once

    @property
    def lease(self) -> timedelta:
        # Long enough for every send of a batch to time out, twice.
        return timedelta(seconds=2 * self.timeout_seconds + 30)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WorkerSettings:
        return cls(
            max_attempts=int(config["WEBHOOK_MAX_ATTEMPTS"]),
            retry_base_seconds=int(config["WEBHOOK_RETRY_BASE_SECONDS"]),
            timeout_seconds=int(config["WEBHOOK_TIMEOUT_SECONDS"]),
            allow_private=bool(config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]),
            idempotency_ttl=timedelta(hours=int(config["IDEMPOTENCY_TTL_HOURS"])),
        )


@dataclass
class CycleReport:
    settled: int = 0
    dispatched: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    purged_keys: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.settled or self.dispatched or self.delivered or self.retrying or self.dead)


def settle_all(session: DbSession, *, now: datetime, batch: int = 200) -> int:
    """Approve every due pending reward, a committed batch at a time."""
    total = 0
    while True:
        count = settle_rewards(session, now=now, limit=batch)
        session.commit()
        total += count
        if count < batch:
            return total


def _send(job: Job, settings: WorkerSettings, clock: Callable[[], datetime], send: Sender) -> Any:
    timestamp = int(clock().timestamp())
    headers = signing.signed_headers(job.secret, job.msg_id, timestamp, job.body)
    return send(
        job.url,
        job.body,
        headers,
        timeout=settings.timeout_seconds,
        allow_private=settings.allow_private,
    )


def deliver_due(
    session: DbSession,
    *,
    settings: WorkerSettings,
    clock: Callable[[], datetime] = utcnow,
    send: Sender = delivery.send,
    report: CycleReport | None = None,
) -> CycleReport:
    """Fan out new events, then send every due delivery once and record the outcomes."""
    report = report or CycleReport()
    while True:
        count = dispatch_events(session, now=clock())
        session.commit()
        report.dispatched += count
        if count == 0:
            break
    while True:
        jobs = lease_deliveries(session, now=clock(), lease=settings.lease)
        session.commit()
        if not jobs:
            return report
        with ThreadPoolExecutor(max_workers=min(settings.senders, len(jobs))) as pool:
            outcomes = list(pool.map(lambda job: _send(job, settings, clock, send), jobs))
        for job, outcome in zip(jobs, outcomes, strict=True):
            state = record_outcome(
                session,
                job=job,
                outcome=outcome,
                now=clock(),
                max_attempts=settings.max_attempts,
                retry_base_seconds=settings.retry_base_seconds,
            )
            field = state if state in ("delivered", "dead") else "retrying"
            setattr(report, field, getattr(report, field) + 1)
        session.commit()


def run_cycle(
    session: DbSession,
    *,
    settings: WorkerSettings,
    clock: Callable[[], datetime] = utcnow,
    send: Sender = delivery.send,
    purge: bool = False,
) -> CycleReport:
    """One pass of the worker."""
    report = CycleReport(settled=settle_all(session, now=clock()))
    if purge:
        report.purged_keys = idempotency.purge_keys(
            session, now=clock(), ttl=settings.idempotency_ttl
        )
        session.commit()
    return deliver_due(session, settings=settings, clock=clock, send=send, report=report)


def run_worker(
    session: DbSession,
    *,
    settings: WorkerSettings,
    once: bool,
    interval: float,
    echo: Callable[[str], None],
    log: logging.Logger,
) -> None:
    """Run cycles until stopped (or one, with ``once``), purging keys hourly and sleeping
    ``interval`` seconds when idle; a failed cycle is logged and retried."""
    last_purge = 0.0
    while True:
        purge = time.monotonic() - last_purge > 3600
        try:
            report = run_cycle(session, settings=settings, purge=purge)
        except Exception:
            session.rollback()
            if once:
                raise
            log.exception("worker cycle failed")
            time.sleep(interval)
            continue
        if purge:
            last_purge = time.monotonic()
        if report.busy:
            echo(
                f"settled {report.settled}, dispatched {report.dispatched}, delivered "
                f"{report.delivered}, retrying {report.retrying}, dead {report.dead}"
            )
        if once:
            return
        if not report.busy:
            time.sleep(interval)
