"""The attempt history of deliveries: every try, with its time, outcome, HTTP status, error or
receipt, and every replay with who asked for it.

The dispatcher writes a try in the transaction that records the delivery's outcome, so the
history and the delivery's status never disagree. A replay resets the delivery's attempt count
(its retry budget) but not this history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, literal, select

from parkhub.canonical.timeutil import utcnow

from . import schema as t
from .db import Database
from .records import IN_CHUNK

REPLAYED = "replayed"
"""The outcome of a history row an operator's replay wrote."""
INSERT_TRY = (
    "INSERT INTO delivery_attempts (delivery_id, attempt, at, outcome, http_status, error, "
    "error_kind, receipt_id, actor) VALUES (:delivery_id, :attempt, :at, :outcome, "
    ":http_status, :error, :error_kind, :receipt_id, :actor)"
)


@dataclass(frozen=True, slots=True)
class Try:
    """One try of a delivery: when, what came of it (sent, failed, dead, superseded), the HTTP
    status where the platform answered over HTTP, the error or the receipt id."""

    delivery_id: int
    attempt: int
    at: dt.datetime
    outcome: str
    http_status: int | None = None
    error: str | None = None
    error_kind: str | None = None
    receipt_id: str | None = None


class Attempts:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, conn: Connection, owner: str, tries: Sequence[Try]) -> None:
        """Keep the tries of a batch, in the caller's transaction: one prepared statement."""
        if not tries:
            return
        rows = [
            {
                "delivery_id": x.delivery_id,
                "attempt": x.attempt,
                "at": self.db.time(x.at),
                "outcome": x.outcome,
                "http_status": x.http_status,
                "error": x.error[:2000] if x.error else None,
                "error_kind": x.error_kind,
                "receipt_id": x.receipt_id,
                "actor": owner[:64],
            }
            for x in tries
        ]
        self.db.cursor(conn).executemany(self.db.sql(INSERT_TRY), rows)

    def add_replayed(self, conn: Connection, ids: Sequence[int], actor: str) -> None:
        """A row per replayed delivery, naming who replayed it (before its count is reset)."""
        d, a = t.deliveries.c, t.delivery_attempts
        now = utcnow()
        for start in range(0, len(ids), IN_CHUNK):
            chunk = list(ids[start : start + IN_CHUNK])
            pick = select(
                d.id, d.attempts, literal(now, a.c.at.type), literal(REPLAYED), literal(actor[:64])
            ).where(d.id.in_(chunk))
            conn.execute(
                insert(a).from_select(["delivery_id", "attempt", "at", "outcome", "actor"], pick)
            )

    def of(self, delivery_id: int) -> list[dict[str, Any]]:
        """Every try and replay of one delivery, oldest first."""
        a = t.delivery_attempts.c
        q = select(t.delivery_attempts).where(a.delivery_id == delivery_id).order_by(a.id)
        with self.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]
