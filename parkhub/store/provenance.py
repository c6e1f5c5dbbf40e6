"""Field sources: which source set each field of a merged record, and where sources disagree.

Survivorship (parkhub.ingest.survivorship) merges what two sources say about one enterprise
or figure by precedence; this table remembers, per record, the source of every field the
merge took from another source than the record's last writer, and the values lower sources
sent that were not taken (conflicts). A record that only one source ever wrote has no row: its
fields are all from `records.source`.

The table lives on `parkhub.store.schema.metadata`; migration 0007 creates it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Index, String, Table, Text, select
from sqlalchemy.dialects import postgresql, sqlite

from parkhub.canonical import jsonutil
from parkhub.canonical.timeutil import utcnow

from .db import Database
from .schema import UTCDateTime, metadata

record_sources = Table(
    "record_sources",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column(
        "key",
        String(255).with_variant(String(255, collation="C"), "postgresql"),
        primary_key=True,
    ),
    Column("park_id", String(64), nullable=False),
    Column("fields", Text, nullable=False),  # JSON {field: source}
    Column("conflicts", Text),  # JSON {field: {source: value}}, NULL when none
    Column("updated_at", UTCDateTime(), nullable=False),
)
Index("ix_record_sources_park_id", record_sources.c.park_id, record_sources.c.kind)


@dataclass(frozen=True, slots=True)
class Provenance:
    """The field sources and conflicts of one record, as the merge left them."""

    kind: str
    key: str
    park_id: str
    fields: Mapping[str, str]
    conflicts: Mapping[str, Mapping[str, Any]] | None = None


class Provenances:
    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self, conn: Connection, rows: Iterable[Provenance]) -> None:
        """Store the field sources of merged records, in the caller's transaction."""
        values = [
            {
                "kind": p.kind,
                "key": p.key,
                "park_id": p.park_id,
                "fields": jsonutil.dumps_str(dict(p.fields)),
                "conflicts": jsonutil.dumps_str(p.conflicts) if p.conflicts else None,
                "updated_at": utcnow(),
            }
            for p in rows
        ]
        if not values:
            return
        insert = (postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert)(
            record_sources
        )
        stmt = insert.on_conflict_do_update(
            index_elements=["kind", "key"],
            set_={
                name: insert.excluded[name]
                for name in ("park_id", "fields", "conflicts", "updated_at")
            },
        )
        conn.execute(stmt, values)

    def conflicts(
        self, *, park_ids: Sequence[str] | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Records whose sources disagree now: kind, key, park, the field sources and the
        values not taken."""
        rs = record_sources.c
        q = select(record_sources).where(rs.conflicts.is_not(None))
        if park_ids is not None:
            q = q.where(rs.park_id.in_(list(park_ids)))
        with self.db.connect() as conn:
            rows = conn.execute(q.order_by(rs.updated_at.desc()).limit(limit)).all()
        return [
            {
                **dict(r._mapping),
                "fields": jsonutil.loads(r.fields),
                "conflicts": jsonutil.loads(r.conflicts),
            }
            for r in rows
        ]


__all__ = ["Provenance", "Provenances", "record_sources"]
