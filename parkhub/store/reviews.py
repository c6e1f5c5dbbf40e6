"""Quality findings and held records: what the quality rules said about incoming records, and
the records a `hold` keeps out of every outbox until a reviewer decides.

Ingest decides (parkhub.ingest.quality) and hands the outcome down with the page as a value
(`Review`), so a held record is kept in the same transaction as the raw message it came in:
nothing is lost, it only waits. A hold is `waiting` until a reviewer approves it (the record is
stored and routed as it came), corrects it (stored with the reviewer's values) or rejects it
(never stored); a newer hold of the same record supersedes a waiting one.

The tables live on `parkhub.store.schema.metadata`; migration 0007 creates them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from parkhub.canonical import Record, jsonutil
from parkhub.canonical.timeutil import utcnow

from .db import Database
from .provenance import Provenance, Provenances
from .schema import Id, UTCDateTime, metadata


class HoldStatus(StrEnum):
    """waiting -> approved | corrected | rejected; superseded by a newer hold of the record."""

    WAITING = "waiting"
    APPROVED = "approved"
    CORRECTED = "corrected"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


findings = Table(
    "quality_findings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("park_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("key", String(255), nullable=False),
    Column("source", String(64), nullable=False),
    Column("raw_id", Id),
    Column("rule", String(32), nullable=False),
    Column("severity", String(8), nullable=False),  # info | warn | hold
    Column("field", String(64), nullable=False),  # "" when the finding is about the record
    Column("message", Text, nullable=False),
    Column("hold_id", Id),
    Column("created_at", UTCDateTime(), nullable=False),
    # a message stored again (the same body twice, a reparse) finds nothing new
    UniqueConstraint("raw_id", "kind", "key", "rule", "field"),
)
Index("ix_quality_findings_park_id", findings.c.park_id, findings.c.created_at)

holds = Table(
    "quality_holds",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("park_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("key", String(255), nullable=False),
    Column("source", String(64), nullable=False),
    Column("raw_id", Id),
    Column("doc", Text, nullable=False),  # the record as the rules saw it (merged)
    Column("incoming", Text, nullable=False),  # as its source sent it
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("decided_at", UTCDateTime()),
    Column("decided_by", String(64)),
    Column("note", Text),
    Column("revision", Integer),  # of the stored record, once approved or corrected
    UniqueConstraint("raw_id", "kind", "key"),
)
Index("ix_quality_holds_status", holds.c.status, holds.c.park_id)
Index("ix_quality_holds_kind", holds.c.kind, holds.c.key)


@dataclass(frozen=True, slots=True)
class Finding:
    """What one rule says about one record (or one field of it)."""

    kind: str
    key: str
    park_id: str
    rule: str
    severity: str
    message: str
    field: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "key": self.key,
            "park_id": self.park_id,
            "rule": self.rule,
            "severity": self.severity,
            "field": self.field,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Held:
    """A record kept back: as the rules saw it, as its source sent it, and why."""

    record: Record
    incoming: Record
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class Review:
    """What a page carries besides its records: the findings of records that pass, the
    records held back, and the field sources of merged records (parkhub.store.provenance)."""

    findings: Sequence[Finding] = ()
    held: Sequence[Held] = ()
    provenance: Sequence[Provenance] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.findings or self.held or self.provenance)


class Reviews:
    """Findings and holds: written with the page they came in, listed, decided."""

    def __init__(self, db: Database, provenance: Provenances) -> None:
        self.db = db
        self.provenance = provenance

    def _insert(self, table: Table) -> Any:
        return (postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert)(table)

    def write(self, conn: Connection, raw_id: int | None, source: str, review: Review) -> None:
        """The findings, holds and field sources of one message, in its transaction."""
        now = utcnow()
        self.provenance.write(conn, review.provenance)
        for held in review.held:
            rec = held.record
            hold_id = conn.execute(
                self._insert(holds)
                .values(
                    park_id=rec.park_id,
                    kind=rec.kind,
                    key=rec.key,
                    source=source,
                    raw_id=raw_id,
                    doc=rec.document_json().decode(),
                    incoming=held.incoming.document_json().decode(),
                    status=HoldStatus.WAITING,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["raw_id", "kind", "key"])
                .returning(holds.c.id)
            ).scalar()
            if hold_id is not None:  # a newer hold of the record: an older one no longer waits
                conn.execute(
                    update(holds)
                    .where(
                        holds.c.kind == rec.kind,
                        holds.c.key == rec.key,
                        holds.c.status == HoldStatus.WAITING,
                        holds.c.id != hold_id,
                    )
                    .values(status=HoldStatus.SUPERSEDED, decided_at=now, decided_by="parkhub")
                )
            self._findings(conn, raw_id, source, held.findings, hold_id, now)
        self._findings(conn, raw_id, source, review.findings, None, now)

    def _findings(
        self,
        conn: Connection,
        raw_id: int | None,
        source: str,
        found: Iterable[Finding],
        hold_id: int | None,
        now: dt.datetime,
    ) -> None:
        rows = [
            {
                "park_id": f.park_id,
                "kind": f.kind,
                "key": f.key,
                "source": source,
                "raw_id": raw_id,
                "rule": f.rule,
                "severity": f.severity,
                "field": f.field,
                "message": f.message,
                "hold_id": hold_id,
                "created_at": now,
            }
            for f in found
        ]
        if rows:
            conn.execute(
                self._insert(findings).on_conflict_do_nothing(
                    index_elements=["raw_id", "kind", "key", "rule", "field"]
                ),
                rows,
            )

    # -- reading ------------------------------------------------------------------------------

    def holds(
        self,
        *,
        park_ids: Sequence[str] | None = None,
        statuses: Sequence[str] = (HoldStatus.WAITING,),
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Holds (waiting ones by default), oldest first, each with its findings."""
        h = holds.c
        q = select(holds).where(h.status.in_([str(s) for s in statuses]))
        if park_ids is not None:
            q = q.where(h.park_id.in_(list(park_ids)))
        with self.db.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q.order_by(h.id).limit(limit))]
            by_hold = self._hold_findings(conn, [r["id"] for r in rows])
        for row in rows:
            row["findings"] = by_hold.get(row["id"], [])
        return rows

    def hold(self, hold_id: int) -> dict[str, Any] | None:
        with self.db.connect() as conn:
            row = conn.execute(select(holds).where(holds.c.id == hold_id)).first()
            if row is None:
                return None
            out = dict(row._mapping)
            out["findings"] = self._hold_findings(conn, [hold_id]).get(hold_id, [])
        return out

    @staticmethod
    def _hold_findings(conn: Connection, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        out: dict[int, list[dict[str, Any]]] = {}
        for start in range(0, len(ids), 500):
            q = select(findings).where(findings.c.hold_id.in_(list(ids[start : start + 500])))
            for r in conn.execute(q.order_by(findings.c.id)):
                out.setdefault(int(r.hold_id), []).append(dict(r._mapping))
        return out

    def findings(
        self,
        *,
        park_ids: Sequence[str] | None = None,
        severities: Sequence[str] | None = None,
        raw_id: int | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Findings, newest first."""
        f = findings.c
        q = select(findings)
        if park_ids is not None:
            q = q.where(f.park_id.in_(list(park_ids)))
        if severities is not None:
            q = q.where(f.severity.in_(list(severities)))
        if raw_id is not None:
            q = q.where(f.raw_id == raw_id)
        with self.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q.order_by(f.id.desc()).limit(limit))]

    def counts(
        self, *, park_ids: Sequence[str] | None = None, since: dt.datetime | None = None
    ) -> dict[str, int]:
        """Findings by severity (since a time), and the holds still waiting."""
        f, h = findings.c, holds.c
        q = select(f.severity, func.count()).group_by(f.severity)
        w = select(func.count()).where(h.status == HoldStatus.WAITING)
        if park_ids is not None:
            q = q.where(f.park_id.in_(list(park_ids)))
            w = w.where(h.park_id.in_(list(park_ids)))
        if since is not None:
            q = q.where(f.created_at >= since)
        with self.db.connect() as conn:
            out = {"info": 0, "warn": 0, "hold": 0}
            out.update({sev: int(n) for sev, n in conn.execute(q)})
            out["waiting"] = int(conn.execute(w).scalar_one())
        return out

    def decide(
        self,
        conn: Connection,
        hold_id: int,
        status: HoldStatus,
        *,
        actor: str,
        note: str | None,
        revision: int | None,
    ) -> bool:
        """Record a reviewer's decision on a waiting hold; False if it no longer waits (someone
        decided first, or a newer hold superseded it)."""
        res = conn.execute(
            update(holds)
            .where(holds.c.id == hold_id, holds.c.status == HoldStatus.WAITING)
            .values(
                status=status,
                decided_at=utcnow(),
                decided_by=actor,
                note=note,
                revision=revision,
            )
        )
        return bool(res.rowcount)


def hold_doc(row: Mapping[str, Any], column: str = "doc") -> dict[str, Any]:
    """A hold's record document (`doc`, or `incoming`) as a dict."""
    loaded: dict[str, Any] = jsonutil.loads(row[column])
    return loaded


__all__ = [
    "Finding",
    "Held",
    "HoldStatus",
    "Review",
    "Reviews",
    "findings",
    "hold_doc",
    "holds",
]
