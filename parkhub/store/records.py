"""Canonical records as stored: one row per (kind, key) at its latest revision. Reads only;
the writers (parkhub.store.writers) store them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, false, func, or_, select

from parkhub.canonical import jsonutil
from parkhub.canonical.models import TIME_SERIES_KEYS
from parkhub.canonical.timeutil import as_utc

from . import schema as t
from .db import Database
from .provenance import record_sources

IN_CHUNK = 500  # keys per IN (...): under SQLite's bind-variable limit


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored record as survivorship and the quality rules read it: its document, who wrote
    it last, its revision, and the sources of its fields where they differ."""

    doc: dict[str, Any]
    source: str
    revision: int
    raw_id: int | None
    fields: dict[str, str] | None = None
    conflicts: dict[str, dict[str, Any]] | None = None

    def source_of(self, field: str) -> str:
        """The source that set `field`: "" for a model default nobody set (a record with field
        sources names every field someone set), the last writer for a record without."""
        if self.fields is None:
            return self.source
        return self.fields.get(field, "")


class Records:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        """The stored row of one record (its document in `doc`, as JSON text)."""
        with self.db.connect() as conn:
            row = conn.execute(
                select(t.records).where(t.records.c.kind == kind, t.records.c.key == key)
            ).first()
        return dict(row._mapping) if row else None

    def docs(
        self, kind: str, *, park_id: str | None = None, conn: Connection | None = None
    ) -> list[dict[str, Any]]:
        """Every document of a kind (in a park), by key."""
        q = select(t.records.c.doc).where(t.records.c.kind == kind).order_by(t.records.c.key)
        if park_id is not None:
            q = q.where(t.records.c.park_id == park_id)
        if conn is not None:
            return [jsonutil.loads(r[0]) for r in conn.execute(q)]
        with self.db.connect() as c:
            return [jsonutil.loads(r[0]) for r in c.execute(q)]

    def iter_docs(
        self,
        kind: str,
        *,
        park_id: str,
        key_prefix: str | None = None,
        key_suffix: str | None = None,
        batch: int = 5000,
    ) -> Iterator[dict[str, Any]]:
        """Stream the documents of a kind in a park, in bounded memory; `key_suffix` e.g.
        `|2026-10` for one period's `enterprise_monthly` (filtered by the database)."""
        rc = t.records.c
        last = ""
        with self.db.connect() as conn:
            while True:
                q = (
                    select(rc.key, rc.doc)
                    .where(rc.kind == kind, rc.park_id == park_id, rc.key > last)
                    .order_by(rc.key)
                    .limit(batch)
                )
                if key_prefix:
                    q = q.where(rc.key.startswith(key_prefix, autoescape=True))
                if key_suffix:
                    q = q.where(rc.key.endswith(key_suffix, autoescape=True))
                rows = conn.execute(q).all()
                if not rows:
                    return
                for _key, doc in rows:
                    yield jsonutil.loads(doc)
                last = rows[-1][0]

    def docs_between(
        self,
        kind: str,
        *,
        park_id: str,
        start: dt.datetime,
        end: dt.datetime,
        batch: int = 5000,
        key_suffixes: Sequence[str] = (),
    ) -> Iterator[dict[str, Any]]:
        """Stream documents of a kind in a park whose event time is in [start, end).

        Time-series kinds (keys that start with the ISO time) are read as a key range of the
        (kind, key) index; other kinds through the (park, kind, ts) index. `key_suffixes`:
        only keys ending so (e.g. `|cod|cou|day`: one metric of every device), filtered by
        the database, so a year of readings is not parsed to find a few series.
        """
        rc = t.records.c
        by_key = kind in TIME_SERIES_KEYS
        ends = or_(false(), *(rc.key.endswith(s, autoescape=True) for s in key_suffixes))
        # ISO times of aware UTC values sort as text: "...:00+00:00|" < "...:00.5+00:00"
        low, high = as_utc(start).isoformat(), as_utc(end).isoformat()
        last: Any = "" if by_key else 0
        order = rc.key if by_key else rc.id
        with self.db.connect() as conn:
            while True:
                q = select(order, rc.doc).where(rc.kind == kind, rc.park_id == park_id)
                # other kinds: the partial index's own predicate, word for word (SQLite uses
                # a partial index only then)
                q = (
                    q.where(rc.key >= low, rc.key < high)
                    if by_key
                    else q.where(rc.ts >= start, rc.ts < end, t.NOT_TIME_SERIES)
                )
                if key_suffixes:
                    q = q.where(ends)
                rows = conn.execute(q.where(order > last).order_by(order).limit(batch)).all()
                if not rows:
                    return
                for _, doc in rows:
                    yield jsonutil.loads(doc)
                last = rows[-1][0]

    def rows(
        self, kind: str, *, park_id: str, key_prefix: str = "", limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Stored records of a kind in a park (whose key starts with `key_prefix`), by key, each
        with where it came from: its revision, source, raw message and when it changed."""
        rc = t.records.c
        q = (
            select(rc.id, rc.key, rc.revision, rc.source, rc.raw_id, rc.updated_at, rc.doc)
            .where(rc.kind == kind, rc.park_id == park_id)
            .order_by(rc.key)
            .limit(limit)
        )
        if key_prefix:
            q = q.where(rc.key.startswith(key_prefix, autoescape=True))
        with self.db.connect() as conn:
            out = [dict(r._mapping) for r in conn.execute(q)]
        for row in out:
            row["doc"] = jsonutil.loads(row["doc"])
        return out

    def stored(self, kind: str, keys: Iterable[str]) -> dict[str, Stored]:
        """The stored records of `kind` among `keys`, with their field sources, by key (absent
        keys are left out): one query a page, not one a record."""
        rc = t.records.c
        wanted = sorted(set(keys))
        out: dict[str, Stored] = {}
        with self.db.connect() as conn:
            for start in range(0, len(wanted), IN_CHUNK):
                q = _stored_query().where(
                    rc.kind == kind, rc.key.in_(wanted[start : start + IN_CHUNK])
                )
                out.update(_stored_rows(conn.execute(q)))
        return out

    def stored_in(
        self, kind: str, *, park_id: str, key_suffix: str | None = None
    ) -> dict[str, Stored]:
        """Every stored record of a kind in a park (keys ending `key_suffix`), with its
        revision and field sources, by key: what an evaluation shows as its inputs."""
        rc = t.records.c
        q = _stored_query().where(rc.kind == kind, rc.park_id == park_id)
        if key_suffix:
            q = q.where(rc.key.endswith(key_suffix, autoescape=True))
        with self.db.connect() as conn:
            return dict(_stored_rows(conn.execute(q)))

    def docs_of(self, kind: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The documents of the stored records of `kind` among `keys`, by key."""
        rc = t.records.c
        wanted = sorted(set(keys))
        out: dict[str, dict[str, Any]] = {}
        with self.db.connect() as conn:
            for start in range(0, len(wanted), IN_CHUNK):
                q = select(rc.key, rc.doc).where(
                    rc.kind == kind, rc.key.in_(wanted[start : start + IN_CHUNK])
                )
                out.update((key, jsonutil.loads(doc)) for key, doc in conn.execute(q))
        return out

    def revision(self, conn: Connection, kind: str, key: str) -> int | None:
        """The revision of one stored record, in the caller's transaction."""
        rc = t.records.c
        found = conn.execute(select(rc.revision).where(rc.kind == kind, rc.key == key)).scalar()
        return None if found is None else int(found)

    def revisions(self, kind: str, keys: Iterable[str]) -> dict[str, tuple[int, str, Any]]:
        """(revision, source, updated_at) of the stored records of `kind` among `keys`."""
        rc = t.records.c
        wanted = sorted(set(keys))
        out: dict[str, tuple[int, str, Any]] = {}
        with self.db.connect() as conn:
            for start in range(0, len(wanted), IN_CHUNK):
                q = select(rc.key, rc.revision, rc.source, rc.updated_at).where(
                    rc.kind == kind, rc.key.in_(wanted[start : start + IN_CHUNK])
                )
                out.update((k, (int(r), s, u)) for k, r, s, u in conn.execute(q))
        return out

    def parks_of(self, kind: str, keys: Iterable[str]) -> dict[str, str]:
        """The park of each stored record of `kind` among `keys` (absent keys are left out)."""
        rc = t.records.c
        wanted = sorted(set(keys))
        out: dict[str, str] = {}
        with self.db.connect() as conn:
            for start in range(0, len(wanted), IN_CHUNK):
                chunk = wanted[start : start + IN_CHUNK]
                q = select(rc.key, rc.park_id).where(rc.kind == kind, rc.key.in_(chunk))
                out.update((key, park) for key, park in conn.execute(q))
        return out

    def counts(self, *, park_id: str | None = None) -> dict[str, int]:
        """How many records of each kind (in a park)."""
        rc = t.records.c
        q = select(rc.kind, func.count()).group_by(rc.kind)
        if park_id is not None:
            q = q.where(rc.park_id == park_id)
        with self.db.connect() as conn:
            return {kind: int(n) for kind, n in conn.execute(q).all()}


def _stored_query() -> Select[Any]:
    """Records with the sources of their merged fields (none for a record never merged)."""
    rc, rs = t.records.c, record_sources.c
    return select(
        rc.key, rc.doc, rc.source, rc.revision, rc.raw_id, rs.fields, rs.conflicts
    ).select_from(t.records.outerjoin(record_sources, (rs.kind == rc.kind) & (rs.key == rc.key)))


def _stored_rows(rows: Iterable[Any]) -> Iterator[tuple[str, Stored]]:
    for key, doc, source, revision, raw_id, fields, conflicts in rows:
        yield (
            key,
            Stored(
                jsonutil.loads(doc),
                source,
                int(revision),
                raw_id,
                jsonutil.loads(fields) if fields else None,
                jsonutil.loads(conflicts) if conflicts else None,
            ),
        )
