"""When work happens: APScheduler 3 triggers from config, each job fired once per period across
machines.

Every worker's triggers fire at the same instants: a cron expression's, and for `every_seconds`
the multiples of it counted from 2000-01-01 UTC. The fire time is the run's period. A run of an
exclusive job waits (up to the period's length, at most MAX_WAIT) for the store's leader lock
named after the job (on PostgreSQL an advisory lock, released by the server when its worker
dies), then runs the job unless the ledger (`JobLedger`, the store's job_runs) says the period
already ran, and records the period once the job returned. So with `parkhub run` on many
machines a job runs once a period, on one of them: the first to take the lock; the others,
waiting behind it, find the period done; and when the one running it dies, the next in line
runs it. A job that raised is not recorded, so the next in line tries it again. The dispatcher
needs no lock (rows are claimed with SKIP LOCKED).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from parkhub.canonical.timeutil import SHANGHAI, utcnow

log = logging.getLogger("parkhub.scheduler")

EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
"""Interval triggers count their periods from here, so every worker's fire at the same times."""
MAX_WAIT = 300.0
"""The longest a worker waits for another running the same job (seconds)."""


class LeaderLock(Protocol):
    def __call__(self, name: str, *, wait: float = 0.0) -> AbstractContextManager[bool]:
        """Whether this worker may run job `name` now, waiting up to `wait` seconds."""
        ...


class JobLedger(Protocol):
    """Which periods of which jobs ran (parkhub.store.jobs.JobRuns)."""

    def done(self, job: str, period: dt.datetime) -> bool: ...

    def finish(self, job: str, period: dt.datetime, owner: str) -> None: ...


class _NoLedger:
    def done(self, job: str, period: dt.datetime) -> bool:
        return False

    def finish(self, job: str, period: dt.datetime, owner: str) -> None:
        return None


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable[[], object]
    every_seconds: float | None = None
    cron: str | None = None
    exclusive: bool = True
    """Run on one machine at a time (advisory lock on PostgreSQL)."""

    @classmethod
    def on(
        cls, id: str, func: Callable[[], object], schedule: Any, *, exclusive: bool = True
    ) -> Job:
        """A job on a configured schedule (parkhub.config.Schedule: every N seconds or cron)."""
        return cls(id, func, schedule.every_seconds, schedule.cron, exclusive)


def trigger_of(job: Job) -> BaseTrigger:
    """The job's trigger: its cron expression (Beijing time), or every N seconds from EPOCH."""
    if job.cron:
        return CronTrigger.from_crontab(job.cron, timezone=SHANGHAI)
    return IntervalTrigger(seconds=job.every_seconds or 60, start_date=EPOCH, timezone=SHANGHAI)


def period_of(trigger: BaseTrigger, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The period `now` is in: its fire time (the latest at or before `now`) and the next."""
    if isinstance(trigger, IntervalTrigger):
        step = trigger.interval.total_seconds()
        start = EPOCH + dt.timedelta(
            seconds=math.floor((now - EPOCH).total_seconds() / step + 1e-9) * step
        )
        return start, start + trigger.interval
    lookback = dt.timedelta(minutes=1)
    while True:
        fire = trigger.get_next_fire_time(None, now - lookback)
        if fire is not None and fire <= now:
            break
        if lookback > dt.timedelta(days=800):  # a trigger that never fired before now
            return now, now
        lookback *= 2
    while True:
        after = trigger.get_next_fire_time(fire, fire + dt.timedelta(microseconds=1))
        if after is None or after > now:
            return fire.astimezone(dt.UTC), (after or now).astimezone(dt.UTC)
        fire = after


class Service:
    def __init__(self, lock: LeaderLock, jobs: list[Job], ledger: JobLedger | None = None) -> None:
        self.lock = lock
        self.jobs = jobs
        self.ledger: JobLedger = ledger or _NoLedger()
        self.owner = f"{socket.gethostname()}:{os.getpid()}"[:64]
        self.scheduler = BackgroundScheduler(timezone=SHANGHAI)
        self.stopped = threading.Event()
        self._triggers = {job.id: trigger_of(job) for job in jobs}

    def _wrap(self, job: Job) -> Callable[[], None]:
        # frequent jobs (dispatch, inbox recovery) log at DEBUG: INFO names the others
        level = logging.DEBUG if not job.exclusive or job.id.startswith("inbox") else logging.INFO

        def run() -> None:
            started = time.monotonic()
            try:
                if job.exclusive:
                    self._once(job)
                else:
                    job.func()
            except Exception:  # one failing job must not stop the others
                log.exception("job %s failed", job.id)
                return
            log.log(level, "job %s done in %.1f s", job.id, time.monotonic() - started)

        return run

    def _once(self, job: Job) -> None:
        """Run `job` for the current period unless it ran (or runs) on another worker."""
        period, ends = period_of(self._triggers[job.id], utcnow())
        wait = min(MAX_WAIT, max(0.0, (ends - utcnow()).total_seconds() * 0.9))
        with self.lock(job.id, wait=wait) as mine:
            if not mine:
                log.debug("job %s runs elsewhere", job.id)
            elif self.ledger.done(job.id, period):
                log.debug("job %s already ran for %s", job.id, period)
            else:
                job.func()
                self.ledger.finish(job.id, period, self.owner)

    def start(self) -> None:
        for job in self.jobs:
            self.scheduler.add_job(
                self._wrap(job),
                self._triggers[job.id],
                id=job.id,
                name=job.id,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=300,
            )
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)
        self.stopped.set()
