"""Job runs: which period of each scheduled job has run, so a job fires once per period however
many workers share the database (the scheduler's leader lock keeps them from running it at the
same time; this ledger keeps the one that comes second from running it again).

The table lives on `parkhub.store.schema.metadata`; migration 0008 creates it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, String, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from parkhub.canonical.timeutil import utcnow

from .db import Database
from .schema import UTCDateTime, metadata

KEEP = dt.timedelta(days=7)
"""How long the runs of a job are kept (the ledger needs only the current period's)."""

job_runs = Table(
    "job_runs",
    metadata,
    Column("job", String(128), primary_key=True),
    Column("period", UTCDateTime(), primary_key=True),  # the scheduled time this run was for
    Column("owner", String(64), nullable=False),  # host:pid of the worker that ran it
    Column("finished_at", UTCDateTime(), nullable=False),
)


class JobRuns:
    """The ledger of finished job periods."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def done(self, job: str, period: dt.datetime) -> bool:
        """Whether `job` finished its run for `period` (on any worker)."""
        c = job_runs.c
        with self.db.connect() as conn:
            found = conn.execute(select(c.owner).where(c.job == job, c.period == period)).first()
        return found is not None

    def finish(self, job: str, period: dt.datetime, owner: str) -> None:
        """Record that `job` ran for `period`; forget its runs older than KEEP."""
        now = utcnow()
        insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        stmt = insert(job_runs).values(job=job, period=period, owner=owner, finished_at=now)
        with self.db.begin() as conn:
            conn.execute(stmt.on_conflict_do_nothing())
            old = job_runs.c.period < now - KEEP
            conn.execute(delete(job_runs).where(job_runs.c.job == job, old))

    def last(self) -> dict[str, dt.datetime]:
        """The latest period each job ran for (what `/metrics` shows)."""
        c = job_runs.c
        with self.db.connect() as conn:
            rows = conn.execute(select(c.job, func.max(c.period)).group_by(c.job)).all()
        return {job: period for job, period in rows}
