"""Alerts: what was notified to which park's robot, so each problem is notified once.

A problem is a dead delivery (`dead:<delivery id>`) or a deadline at risk or late
(`deadline:<platform>:<report>:<period>:<state>`). Each (park, channel, problem) has one row:
pending until a message carrying it is accepted by the robot, then sent; resolved when the
problem went away before it could be sent; failed when the robot refused it too many times.

The settings (`alerts:` in parkhub.yaml) are parkhub.config.AlertsConfig.
The table lives on `parkhub.store.schema.metadata`; migration 0003 creates it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from parkhub.canonical.timeutil import utcnow

from .db import Database
from .schema import Id, UTCDateTime, metadata
from .status import AlertStatus

alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("park_id", String(64), nullable=False),
    Column("channel", String(16), nullable=False),  # wecom | dingtalk
    Column("problem", String(255), nullable=False),
    Column("kind", String(16), nullable=False),  # dead | deadline
    Column("summary", Text, nullable=False),  # the line shown in the message; never secrets
    # pending -> sent | resolved (gone before it was sent) | failed (robot refused, gave up)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    UniqueConstraint("park_id", "channel", "problem"),
)
Index("ix_alerts_status", alerts.c.status, alerts.c.park_id, alerts.c.channel)


@dataclass(frozen=True, slots=True)
class Problem:
    key: str
    kind: str
    summary: str


@dataclass(frozen=True, slots=True)
class PendingAlert:
    id: int
    problem: str
    kind: str
    summary: str
    attempts: int


class AlertLog:
    """The alerts table: new problems in, pending ones out, outcomes recorded."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _insert(self) -> Any:
        return (postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert)(alerts)

    def add(self, park_id: str, channel: str, problems: Iterable[Problem]) -> int:
        """Record problems not seen before for this park and channel; return how many were new."""
        wanted = {p.key: p for p in problems}
        if not wanted:
            return 0
        a = alerts.c
        now = utcnow()
        new = 0
        keys = list(wanted)
        with self.db.begin() as conn:
            known: set[str] = set()
            for start in range(0, len(keys), 500):
                known.update(
                    conn.execute(
                        select(a.problem).where(
                            a.park_id == park_id,
                            a.channel == channel,
                            a.problem.in_(keys[start : start + 500]),
                        )
                    ).scalars()
                )
            for key in keys:
                if key in known:
                    continue
                p = wanted[key]
                res = conn.execute(
                    self._insert()
                    .values(
                        park_id=park_id,
                        channel=channel,
                        problem=p.key,
                        kind=p.kind,
                        summary=p.summary,
                        status=AlertStatus.PENDING,
                        attempts=0,
                        created_at=now,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["park_id", "channel", "problem"])
                )
                new += res.rowcount
        return new

    def pending(self, park_id: str, channel: str) -> list[PendingAlert]:
        a = alerts.c
        with self.db.connect() as conn:
            rows = conn.execute(
                select(a.id, a.problem, a.kind, a.summary, a.attempts)
                .where(a.park_id == park_id, a.channel == channel, a.status == AlertStatus.PENDING)
                .order_by(a.id)
            ).all()
        return [PendingAlert(int(r[0]), r[1], r[2], r[3], int(r[4])) for r in rows]

    def resolve(self, ids: Sequence[int]) -> None:
        self._set(ids, status=AlertStatus.RESOLVED)

    def mark_sent(self, ids: Sequence[int]) -> None:
        now = utcnow()
        self._set(ids, status=AlertStatus.SENT, sent_at=now, attempts=alerts.c.attempts + 1)

    def mark_failed(self, ids: Sequence[int], error: str, *, give_up: bool) -> None:
        self._set(
            ids,
            status=AlertStatus.FAILED if give_up else AlertStatus.PENDING,
            last_error=error[:1000],
            attempts=alerts.c.attempts + 1,
        )

    def _set(self, ids: Sequence[int], **values: Any) -> None:
        if not ids:
            return
        with self.db.begin() as conn:
            for start in range(0, len(ids), 500):
                conn.execute(
                    update(alerts)
                    .where(alerts.c.id.in_(list(ids[start : start + 500])))
                    .values(updated_at=utcnow(), **values)
                )


__all__ = ["AlertLog", "PendingAlert", "Problem", "alerts"]
