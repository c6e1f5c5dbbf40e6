"""The raw inbox: every message exactly as received, kept before anything is made of it.

A message is kept once per (source, body): the same body twice is a duplicate. A refused one
(forged, unsigned) is kept with its reason and never parsed; a parsed one keeps its status,
its first error and every record error, so an operator can see it and reparse it after a fix.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from parkhub.canonical import jsonutil
from parkhub.canonical.timeutil import utcnow
from parkhub.errors import InputError

from . import schema as t
from .audit import Audit
from .db import Database
from .status import PROBLEMS, RawStatus

INSERT_RAW = (
    "INSERT INTO raw_inbox (source, stream, received_at, content_type, body, body_hash, status, "
    "reason, record_count, parse_attempts, meta) VALUES (:source, :stream, :received_at, "
    ":content_type, :body, :body_hash, :status, :reason, 0, 0, :meta) "
    "ON CONFLICT (source, body_hash) DO NOTHING RETURNING id"
)
RAW_ID = "SELECT id FROM raw_inbox WHERE source = :source AND body_hash = :body_hash"
FINISH_RAW = (
    "UPDATE raw_inbox SET status = :status, reason = :reason, errors = :errors, "
    "record_count = :records, parse_attempts = parse_attempts + 1, parsed_at = :now "
    "WHERE id = :id"
)


def body_hash(
    body: bytes, *, rejected_reason: str | None = None, arrival: dt.datetime | None = None
) -> str:
    """What makes a kept message unique within its source. A refused message is keyed with its
    reason, so a forged copy of a genuine body is kept beside it rather than folded into it; a
    message whose every copy counts (a heartbeat without a QN) with its arrival time."""
    salt = b"" if rejected_reason is None else f"rejected\x00{rejected_reason}\x00".encode()
    if arrival is not None:
        salt += f"arrived\x00{arrival.isoformat()}\x00".encode()
    return jsonutil.bytes_hash(salt + body)


def errors_json(errors: Sequence[InputError]) -> str | None:
    return jsonutil.dumps_str([e.as_dict() for e in errors]) if errors else None


class Inbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self,
        conn: Connection,
        *,
        source: str,
        stream: str,
        body: bytes,
        content_type: str = "application/json",
        received_at: dt.datetime | None = None,
        status: RawStatus = RawStatus.RECEIVED,
        reason: str | None = None,
        meta: dict[str, Any] | None = None,
        known_by: bytes | None = None,
        every_copy: bool = False,
    ) -> tuple[int, bool]:
        """Keep a received message; (raw id, whether it is new). The same body twice is kept
        once, unless `every_copy` (each arrival is a fact of its own, e.g. a heartbeat).
        `known_by`: the bytes that make the message unique when `body` is not all of it
        (a refused push keeps a prefix of its body; it is still known by the whole body)."""
        received_at = received_at or utcnow()
        digest = body_hash(
            body if known_by is None else known_by,
            rejected_reason=reason if status is RawStatus.REJECTED else None,
            arrival=received_at if every_copy else None,
        )
        cursor = self.db.cursor(conn)  # straight to the driver: one of these per push
        cursor.execute(
            self.db.sql(INSERT_RAW),
            {
                "source": source,
                "stream": stream,
                "received_at": self.db.time(received_at),
                "content_type": content_type,
                "body": body,
                "body_hash": digest,
                "status": str(status),
                "reason": reason,
                "meta": jsonutil.dumps_str(meta) if meta else None,
            },
        )
        row = cursor.fetchone()
        if row is not None:
            return int(row[0]), True
        cursor.execute(self.db.sql(RAW_ID), {"source": source, "body_hash": digest})
        return int(cursor.fetchone()[0]), False

    def finish(
        self, conn: Connection, raw_id: int, *, records: int, errors: Sequence[InputError]
    ) -> RawStatus:
        """Record what parsing made of a message: its status, errors and record count."""
        status = RawStatus.of(records, errors)
        self.db.cursor(conn).execute(
            self.db.sql(FINISH_RAW),
            {
                "status": str(status),
                "reason": str(errors[0]) if errors else None,
                "errors": errors_json(errors),
                "records": records,
                "now": self.db.time(utcnow()),
                "id": raw_id,
            },
        )
        return status

    def messages(
        self,
        *,
        source: str | None = None,
        sources: Sequence[str] | None = None,
        statuses: Iterable[str] = PROBLEMS,
        ids: Iterable[int] | None = None,
        newest_first: bool = False,
        limit: int = 1000,
        with_body: bool = True,
    ) -> list[dict[str, Any]]:
        """Kept messages by id, or by status (of one source or several); without `body` when
        `with_body` is false (a listing of problems needs no 20 MB workbook)."""
        r = t.raw_inbox.c
        columns = [c for c in t.raw_inbox.c if with_body or c.name != "body"]
        q = select(*columns).order_by(r.id.desc() if newest_first else r.id).limit(limit)
        if ids is not None:
            q = q.where(r.id.in_(t.possible_ids(ids)))
        else:
            q = q.where(r.status.in_([str(s) for s in statuses]))
        if source:
            q = q.where(r.source == source)
        if sources is not None:
            q = q.where(r.source.in_(list(sources)))
        with self.db.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(q)]

    def close_problems(
        self, ids: Iterable[int], status: RawStatus, *, actor: str, conn: Connection | None = None
    ) -> list[int]:
        """Mark problem messages (partial, rejected) resolved or dismissed, audited: they leave
        the lists of problems; the messages stay, and reparse by id still takes them. The ids
        that were problems."""
        r = t.raw_inbox.c
        wanted = sorted(set(ids))
        if not wanted:
            return []
        pick = select(r.id).where(r.id.in_(wanted), r.status.in_([str(x) for x in PROBLEMS]))
        with contextlib.ExitStack() as stack:
            c = conn if conn is not None else stack.enter_context(self.db.begin())
            found = [row[0] for row in c.execute(pick)]
            if found:
                c.execute(update(t.raw_inbox).where(r.id.in_(found)).values(status=str(status)))
                Audit(self.db).add(c, actor, f"inbox_{status}", {"raw_ids": found})
        return found

    def earlier_problems(self, source: str, stream: str, filename: str, before: int) -> list[int]:
        """Problem messages of a source and stream received before message `before` from a file
        of the same name: what a clean import of that file fixes."""
        r = t.raw_inbox.c
        q = select(r.id, r.meta).where(
            r.source == source,
            r.stream == stream,
            r.id < before,
            r.status.in_([str(x) for x in PROBLEMS]),
        )
        with self.db.connect() as conn:
            rows = conn.execute(q).all()
        return [
            raw_id
            for raw_id, meta in rows
            if meta and jsonutil.loads(meta).get("filename") == filename
        ]
