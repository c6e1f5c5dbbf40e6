"""When work happens: APScheduler 3 triggers from config, each job fired once across machines.

On PostgreSQL every job run takes an advisory lock named after the job, so with `parkhub run` on
many machines a pull or a report build runs on one of them at a time; the dispatcher needs no
lock (rows are claimed with SKIP LOCKED). On SQLite there is one process, and APScheduler's
max_instances=1 is enough.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, text

from parkhub.canonical.timeutil import SHANGHAI

log = logging.getLogger("parkhub.scheduler")


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable[[], object]
    every_seconds: float | None = None
    cron: str | None = None
    exclusive: bool = True
    """Run on one machine at a time (advisory lock on PostgreSQL)."""


def lock_key(name: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


@contextmanager
def leader_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Yield True if this process may run job `name` now (always True on SQLite)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn:
        got = bool(
            conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key(name)}).scalar()
        )
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(name)})
            conn.commit()


class Service:
    def __init__(self, engine: Engine, jobs: list[Job]) -> None:
        self.engine = engine
        self.jobs = jobs
        self.scheduler = BackgroundScheduler(timezone=SHANGHAI)
        self.stopped = threading.Event()

    def _wrap(self, job: Job) -> Callable[[], None]:
        def run() -> None:
            try:
                if job.exclusive:
                    with leader_lock(self.engine, job.id) as mine:
                        if mine:
                            job.func()
                        else:
                            log.debug("job %s runs elsewhere", job.id)
                else:
                    job.func()
            except Exception:  # one failing job must not stop the others
                log.exception("job %s failed", job.id)

        return run

    def start(self) -> None:
        for job in self.jobs:
            if job.cron:
                trigger: object = CronTrigger.from_crontab(job.cron, timezone=SHANGHAI)
            else:
                trigger = IntervalTrigger(seconds=job.every_seconds or 60, timezone=SHANGHAI)
            self.scheduler.add_job(
                self._wrap(job),
                trigger,
                id=job.id,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=300,
            )
        self.scheduler.start()

    def run_job_now(self, job_id: str) -> None:
        for job in self.jobs:
            if job.id == job_id:
                self._wrap(job)()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)
        self.stopped.set()
