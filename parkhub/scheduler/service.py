"""When work happens: APScheduler 3 triggers from config, each job fired once across machines.

Every run of an exclusive job takes the store's leader lock named after the job (on PostgreSQL
an advisory lock), so with `parkhub run` on many machines a pull or a report build runs on one
of them at a time; the dispatcher needs no lock (rows are claimed with SKIP LOCKED). On SQLite
there is one process, and APScheduler's max_instances=1 is enough.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

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

    @classmethod
    def on(
        cls, id: str, func: Callable[[], object], schedule: Any, *, exclusive: bool = True
    ) -> Job:
        """A job on a configured schedule (parkhub.config.Schedule: every N seconds or cron)."""
        return cls(id, func, schedule.every_seconds, schedule.cron, exclusive)


class Service:
    def __init__(
        self, lock: Callable[[str], AbstractContextManager[bool]], jobs: list[Job]
    ) -> None:
        self.lock = lock
        self.jobs = jobs
        self.scheduler = BackgroundScheduler(timezone=SHANGHAI)
        self.stopped = threading.Event()

    def _wrap(self, job: Job) -> Callable[[], None]:
        # frequent jobs (dispatch, inbox recovery) log at DEBUG: INFO names the others
        level = logging.DEBUG if not job.exclusive or job.id.startswith("inbox") else logging.INFO

        def run() -> None:
            started = time.monotonic()
            try:
                if job.exclusive:
                    with self.lock(job.id) as mine:
                        if mine:
                            job.func()
                        else:
                            log.debug("job %s runs elsewhere", job.id)
                            return
                else:
                    job.func()
            except Exception:  # one failing job must not stop the others
                log.exception("job %s failed", job.id)
                return
            log.log(level, "job %s done in %.1f s", job.id, time.monotonic() - started)

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
                name=job.id,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=300,
            )
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)
        self.stopped.set()
