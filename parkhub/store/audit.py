"""The audit log: who did what to the data and the deliveries (imports, replays, accounts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from parkhub.canonical import jsonutil
from parkhub.canonical.timeutil import utcnow

from . import schema as t
from .db import Database


class Audit:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, conn: Connection, actor: str, action: str, detail: dict[str, Any]) -> None:
        """One entry, in the caller's transaction (it stands or falls with what it records)."""
        conn.execute(
            insert(t.audit).values(
                at=utcnow(), actor=actor, action=action, detail=jsonutil.dumps_str(detail)
            )
        )

    def log(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest entries, newest first."""
        with self.db.connect() as conn:
            rows = conn.execute(select(t.audit).order_by(t.audit.c.id.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]
