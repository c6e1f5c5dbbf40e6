"""The SQLite writer: multi-row statements straight to the driver, the outbox made by the
database, and the pages of a pull grouped into shared transactions.

Statements are written with named parameters. The multi-row upsert is sent with numbered ones
(the shared values first, then each row's): sqlite3 binds a dict of 3,000 names ~7× slower
than a tuple (docs/performance.md), so `numbered` renders the named text once per row count.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import Connection

from parkhub.canonical import Record, jsonutil
from parkhub.canonical.timeutil import utcnow
from parkhub.store.cursors import Cursors
from parkhub.store.db import Database, sqlite_time
from parkhub.store.inbox import Inbox
from parkhub.store.reviews import Reviews
from parkhub.store.routes import Route, RouteTable
from parkhub.store.status import WAITING, DeliveryStatus, RawStatus

from .base import Page, UpsertResult, Written, event_time, latest

log = logging.getLogger(__name__)

ROWS_PER_STATEMENT = 1000  # 1,000 rows x 4 values + 5 shared: under SQLite's 32,766 variables
GROUP_RECORDS = 5000  # pages pulled back to back share a transaction up to this many records,
GROUP_SECONDS = 0.5  # ... or this long after the first one arrived (docs/performance.md)

UPSERT_RECORDS = (
    "INSERT INTO records (kind, key, park_id, revision, content_hash, ts, doc, source, raw_id, "
    "created_at, updated_at) VALUES {rows} "
    "ON CONFLICT (kind, key) DO UPDATE SET revision = records.revision + 1, "
    "content_hash = excluded.content_hash, ts = excluded.ts, doc = excluded.doc, "
    "park_id = excluded.park_id, source = excluded.source, raw_id = excluded.raw_id, "
    "updated_at = excluded.updated_at "
    # an unchanged record is left alone, so RETURNING names the new and changed rows only
    "WHERE records.content_hash <> excluded.content_hash{returning}"
)
UPSERT_ROW = "(:kind, :key, :park_id, 1, :content_hash, :ts, :doc, :source, :raw_id, :now, :now)"
UPSERT_SHARED = ("kind", "park_id", "source", "raw_id", "now")
"""Bound once a statement: a statement stores records of one kind and park."""
UPSERT_FIELDS = ("key", "content_hash", "ts", "doc")

# an older revision not yet delivered is replaced by the new one, never sent after it
SUPERSEDE = (
    f"UPDATE deliveries SET status = '{DeliveryStatus.SUPERSEDED}', updated_at = :now, "
    "lease_owner = NULL, lease_until = NULL "
    "WHERE record_id IN (SELECT value FROM json_each(:ids)) "
    f"AND status IN ({', '.join(repr(str(s)) for s in WAITING)})"
)
LAST_RECORD_ID = "SELECT coalesce(max(id), 0) FROM records"
RECORDS_AFTER = "SELECT count(*) FROM records WHERE id > :after"
SAVEPOINT = "SAVEPOINT upsert"
ROLLBACK_TO_SAVEPOINT = "ROLLBACK TO upsert"
RELEASE_SAVEPOINT = "RELEASE upsert"
# A route's outbox rows, made by the database from the records just stored: those a JSON
# array of ids names (in order, so the rows land at the right edge of the outbox's indexes),
# or every record past an id (those an upsert inserted). Their idempotency key is stored by
# the first claim (Outbox.claim), not hashed here for every reading: most outbox rows wait
# for a report's schedule, many are superseded before it.
_ROUTE_INSERT = (
    "INSERT INTO deliveries (record_id, record_kind, record_key, revision, park_id, platform, "
    "report, mapping_version, idempotency_key, correction, status, priority, attempts, "
    "next_attempt_at, created_at, updated_at) "
    "SELECT r.id, r.kind, r.key, r.revision, r.park_id, :platform, :report, :mapping_version, "
    f"NULL, r.revision > 1, '{DeliveryStatus.PENDING}', :priority, 0, :now, :now, :now "
)
ROUTE_RECORDS = (
    f"{_ROUTE_INSERT}FROM json_each(:ids) AS j CROSS JOIN records AS r ON r.id = j.value "
    "WHERE true ON CONFLICT (record_id, platform, report, revision, mapping_version) DO NOTHING"
)
ROUTE_NEW_RECORDS = f"{_ROUTE_INSERT}FROM records AS r WHERE r.id > :after ORDER BY r.id"


@lru_cache(maxsize=64)
def numbered(rows: int, *, returning: bool = True, keys: bool = False) -> str:
    """UPSERT_RECORDS for `rows` rows with numbered parameters: the shared values first, then
    four a row, in UPSERT_FIELDS order. RETURNING names the new and changed rows' ids and
    revisions, and their keys with `keys` (a report that decides per record needs them)."""
    index = {name: n for n, name in enumerate(UPSERT_SHARED, start=1)}

    def row(base: int) -> str:
        def number(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in index:
                return f"?{index[name]}"
            return f"?{base + UPSERT_FIELDS.index(name) + 1}"

        return re.sub(r":(\w+)", number, UPSERT_ROW)

    first = len(UPSERT_SHARED)
    values = ",".join(row(first + len(UPSERT_FIELDS) * i) for i in range(rows))
    tail = (" RETURNING id, revision" + (", key" if keys else "")) if returning else ""
    return UPSERT_RECORDS.format(rows=values, returning=tail)


class SqliteWriter:
    def __init__(self, db: Database, inbox: Inbox, cursors: Cursors, reviews: Reviews) -> None:
        self.db, self.inbox, self.cursors, self.reviews = db, inbox, cursors, reviews

    def upsert(
        self,
        conn: Connection,
        records: Sequence[Record],
        *,
        source: str,
        raw_id: int | None,
        routes: RouteTable,
    ) -> UpsertResult:
        result = UpsertResult()
        groups: dict[tuple[str, str], dict[str, Record]] = {}
        for (kind, key), rec in latest(records).items():
            groups.setdefault((kind, rec.park_id), {})[key] = rec
        now = sqlite_time(utcnow())
        cursor = self.db.cursor(conn)
        for (kind, park_id), recs in groups.items():
            shared = (kind, park_id, source, raw_id, now)
            self._upsert_group(cursor, shared, recs, routes(kind, park_id), result)
        return result

    @staticmethod
    def _upsert_group(
        cursor: Any,
        shared: tuple[str, str, str, int | None, str],
        recs: dict[str, Record],
        routes: tuple[Route, ...],
        result: UpsertResult,
    ) -> None:
        """Records of one kind and park: upserted, older waiting deliveries of the changed ones
        superseded, and each route's outbox rows made by the database.

        A page of new readings (nothing stored changes, no report filters per record) is
        upserted without RETURNING, in a savepoint: when every row it touched is past the
        largest id before it, the new records are the outbox rows' source. Otherwise the
        savepoint is undone and RETURNING names the new and changed rows. RETURNING costs
        ~7 % of a reading's instructions (docs/performance.md); a change among new readings is
        rare, so the undo rarely runs.
        """
        rows = []
        for key, rec in recs.items():
            ts = event_time(rec)
            blob = rec.document_json()
            stamp = None if ts is None else sqlite_time(ts)
            rows.append((key, jsonutil.bytes_hash(blob), stamp, blob.decode()))
        filtered = any(r.accepts is not None for r in routes)
        if filtered or not _all_new(cursor, shared, rows, routes, result):
            _returning(cursor, shared, rows, recs, routes, result, keys=filtered)

    @contextmanager
    def pages(self, routes: RouteTable) -> Iterator[GroupedPages]:
        yield GroupedPages(self, routes)

    def write_page(self, conn: Connection, page: Page[Any], routes: RouteTable) -> Written:
        """One message in the caller's transaction: its raw row; its records and outbox rows
        unless it was stored before; its cursor."""
        raw = page.raw
        raw_id, new = self.inbox.add(
            conn,
            source=raw.source,
            stream=raw.stream,
            body=raw.body,
            content_type=raw.content_type,
            received_at=raw.received_at,
            meta=dict(raw.meta) or None,
        )
        count = page.record_count
        if new:
            up = self.upsert(conn, page.records, source=raw.source, raw_id=raw_id, routes=routes)
            if page.review:
                self.reviews.write(conn, raw_id, raw.source, page.review)
            status = self.inbox.finish(conn, raw_id, records=count, errors=page.errors)
            written = Written(
                raw_id, False, status, up.new, up.changed, up.unchanged, up.deliveries
            )
        else:
            status = RawStatus.of(count, page.errors)  # as it was stored
            written = Written(raw_id, True, status)
        if page.cursor is not None:
            self.cursors.set(conn, raw.source, page.cursor[0], page.cursor[1])
        return written


def _statements(
    cursor: Any,
    shared: tuple[Any, ...],
    rows: list[tuple[Any, ...]],
    *,
    returning: bool,
    keys: bool = False,
) -> Iterator[Any]:
    """Execute the upsert of `rows`, ROWS_PER_STATEMENT at a time; each executed cursor."""
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        sql = numbered(len(chunk), returning=returning, keys=keys)
        yield cursor.execute(sql, (*shared, *chain.from_iterable(chunk)))


def _route(cursor: Any, sql: str, route: Route, now: str, **which: Any) -> int:
    """A route's outbox rows (ROUTE_RECORDS or ROUTE_NEW_RECORDS); how many were made."""
    params = {
        "platform": route.platform,
        "report": route.report,
        "mapping_version": route.mapping_version,
        "priority": route.priority,
        "now": now,
        **which,
    }
    return int(cursor.execute(sql, params).rowcount)


def _all_new(
    cursor: Any,
    shared: tuple[Any, ...],
    rows: list[tuple[Any, ...]],
    routes: tuple[Route, ...],
    result: UpsertResult,
) -> bool:
    """Upsert without RETURNING; True if nothing stored changed (done), else undone."""
    after = cursor.execute(LAST_RECORD_ID).fetchone()[0]
    cursor.execute(SAVEPOINT)
    touched = sum(c.rowcount for c in _statements(cursor, shared, rows, returning=False))
    new = cursor.execute(RECORDS_AFTER, {"after": after}).fetchone()[0]
    if new != touched:  # an existing record changed: RETURNING has to name it
        cursor.execute(ROLLBACK_TO_SAVEPOINT)
        cursor.execute(RELEASE_SAVEPOINT)
        return False
    cursor.execute(RELEASE_SAVEPOINT)
    result.new += new
    result.unchanged += len(rows) - new
    for route in routes if new else ():
        result.deliveries += _route(cursor, ROUTE_NEW_RECORDS, route, shared[-1], after=after)
    return True


def _returning(
    cursor: Any,
    shared: tuple[Any, ...],
    rows: list[tuple[Any, ...]],
    recs: dict[str, Record],
    routes: tuple[Route, ...],
    result: UpsertResult,
    *,
    keys: bool,
) -> None:
    """Upsert with RETURNING: the new and changed rows by id (and key, for filters)."""
    touched: list[Any] = []
    for executed in _statements(cursor, shared, rows, returning=True, keys=keys):
        touched.extend(executed.fetchall())
    changed = [row[0] for row in touched if row[1] > 1]
    result.unchanged += len(rows) - len(touched)
    result.changed += len(changed)
    result.new += len(touched) - len(changed)
    now = shared[-1]
    if changed:
        cursor.execute(SUPERSEDE, {"now": now, "ids": jsonutil.dumps_str(changed)})
    every = [row[0] for row in touched]
    for route in routes:
        ids = every if route.accepts is None else [
            row[0] for row in touched if route.accepts(recs[row[2]])
        ]  # fmt: skip
        if ids:
            result.deliveries += _route(
                cursor, ROUTE_RECORDS, route, now, ids=jsonutil.dumps_str(ids)
            )


@dataclass
class GroupedPages:
    """The messages a pull yields back to back, stored several to a transaction.

    The transaction opens only once GROUP_RECORDS records or GROUP_SECONDS have gathered (or
    the pull ends), so no network wait ever holds the write lock. Time is looked at as each
    message arrives: a message waits at most for the next one's fetch (bounded by the source's
    timeout) and GROUP_SECONDS. Nothing is lost meanwhile: its cursor is not committed either,
    so a crash pulls it again. A group the database refuses is stored again page by page, so
    the pages before the bad one are kept and the error is raised at the page it belongs to.
    """

    writer: SqliteWriter
    routes: RouteTable
    group: list[Page[Any]] = field(default_factory=list)
    size: int = 0
    since: float = 0.0

    def send(self, page: Page[Any]) -> Iterator[tuple[Any, Written]]:
        if not self.group:
            self.since = time.monotonic()
        self.group.append(page)
        self.size += len(page.records) + 1
        if self.size >= GROUP_RECORDS or time.monotonic() - self.since >= GROUP_SECONDS:
            return self.finish()
        return iter(())

    def finish(self) -> Iterator[tuple[Any, Written]]:
        group, self.group, self.size = self.group, [], 0
        return self._store(group) if group else iter(())

    def _store(self, group: list[Page[Any]]) -> Iterator[tuple[Any, Written]]:
        db, write = self.writer.db, self.writer.write_page
        if len(group) > 1:
            try:
                with db.begin() as conn:
                    done = [(p.tag, write(conn, p, self.routes)) for p in group]
            except Exception:
                log.warning("a group of %d pages failed; storing them one by one", len(group))
            else:
                yield from done
                return
        for page in group:
            with db.begin() as conn:
                written = write(conn, page, self.routes)
            yield page.tag, written
