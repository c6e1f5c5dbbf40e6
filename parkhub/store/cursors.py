"""Where each source's pull resumes: one cursor per (source, stream), moved in the same
transaction as the records of the page it follows."""

from __future__ import annotations

from sqlalchemy import Connection, select

from parkhub.canonical.timeutil import utcnow

from . import schema as t
from .db import Database

SET_CURSOR = (
    "INSERT INTO cursors (source, stream, value, updated_at) "
    "VALUES (:source, :stream, :value, :now) ON CONFLICT (source, stream) "
    "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)


class Cursors:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, source: str, stream: str, conn: Connection | None = None) -> str | None:
        q = select(t.cursors.c.value).where(
            t.cursors.c.source == source, t.cursors.c.stream == stream
        )
        if conn is not None:
            return conn.execute(q).scalar_one_or_none()
        with self.db.connect() as c:
            return c.execute(q).scalar_one_or_none()

    def set(self, conn: Connection, source: str, stream: str, value: str | None) -> None:
        params = {"source": source, "stream": stream, "value": value, "now": self.db.time(utcnow())}
        self.db.cursor(conn).execute(self.db.sql(SET_CURSOR), params)
