"""The PostgreSQL writer: one statement per batch does it all on the server, and a pull's
messages are pipelined.

The records travel as one binary array per column (unnested by the server); the upsert's
RETURNING feeds the supersede and the outbox insert through CTEs, and the outbox rows (one per
record and route of its route set, idempotency key included) are made there. So nothing waits
for a round trip inside a batch.

`PipelinedPages` sends each message's whole transaction (BEGIN, the raw message with its
records and outbox rows in one statement, the cursor, COMMIT) in psycopg's pipeline mode and
returns at once: the caller parses the next message while the server stores this one, and the
outcome is read when the next message is sent (or at `finish`). Every message is still its own
transaction, committed before its outcome is reported, so a crash loses nothing that was
reported and leaves the cursor where the last committed message put it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from sqlalchemy import Connection

from parkhub.canonical import Record, jsonutil
from parkhub.canonical.timeutil import utcnow
from parkhub.store.cursors import SET_CURSOR
from parkhub.store.db import Database
from parkhub.store.inbox import RAW_ID, body_hash, errors_json
from parkhub.store.keys import pg_expression
from parkhub.store.reviews import Reviews
from parkhub.store.routes import Route, RouteTable
from parkhub.store.status import WAITING, DeliveryStatus, RawStatus

from .base import Page, UpsertResult, Written, event_time, latest

log = logging.getLogger(__name__)

RECORDS_PER_STATEMENT = 5000  # when upserting outside a pull (reports, reparse)

# `raw` is the raw message: a bound id (or NULL), or, for a pulled or pushed message, the
# insert of the message itself, so a duplicate message (no row) stores no record.
RAW_BY_ID = "raw AS (SELECT %(raw_id)b::bigint AS id)"
RAW_INSERT = (
    "raw AS (INSERT INTO raw_inbox (source, stream, received_at, content_type, body, "
    "body_hash, status, reason, errors, record_count, parse_attempts, parsed_at, meta) "
    "VALUES (%(source)b, %(stream)b, %(received_at)b, %(content_type)b, %(body)b, "
    "%(body_hash)b, %(status)b, %(reason)b, %(errors)b, %(record_count)b, 1, %(now)b, "
    "%(meta)b) ON CONFLICT (source, body_hash) DO NOTHING RETURNING id)"
)
_KEY = pg_expression(
    ("up.kind", "up.key", "up.revision", "r.platform", "r.report", "r.mapping_version")
)
WRITE = (
    "WITH {raw}, "
    "input AS (SELECT * FROM unnest(%(kinds)b::varchar[], %(keys)b::varchar[], "
    "%(parks)b::varchar[], %(hashes)b::varchar[], %(times)b::timestamptz[], %(docs)b::text[], "
    "%(route_sets)b::int[]) AS u(kind, key, park_id, content_hash, ts, doc, route_set)), "
    "up AS (INSERT INTO records (kind, key, park_id, revision, content_hash, ts, doc, source, "
    "raw_id, created_at, updated_at) "
    "SELECT input.kind, input.key, input.park_id, 1, input.content_hash, input.ts, input.doc, "
    "%(source)b::varchar, raw.id, %(now)b, %(now)b FROM input, raw "
    "ON CONFLICT (kind, key) DO UPDATE SET revision = records.revision + 1, "
    "content_hash = excluded.content_hash, ts = excluded.ts, doc = excluded.doc, "
    "park_id = excluded.park_id, source = excluded.source, raw_id = excluded.raw_id, "
    "updated_at = excluded.updated_at WHERE records.content_hash <> excluded.content_hash "
    "RETURNING id, kind, key, park_id, revision), "
    # an older revision not yet delivered is replaced by the new one, never sent after it
    f"sup AS (UPDATE deliveries SET status = '{DeliveryStatus.SUPERSEDED}', "
    "updated_at = %(now)b, lease_owner = NULL, lease_until = NULL "
    "WHERE record_id IN (SELECT id FROM up WHERE revision > 1) "
    f"AND status IN ({', '.join(repr(str(s)) for s in WAITING)})), "
    "routes AS (SELECT * FROM unnest(%(route_set)b::int[], %(platform)b::varchar[], "
    "%(report)b::varchar[], %(mapping_version)b::varchar[], %(priority)b::int[]) "
    "AS r(route_set, platform, report, mapping_version, priority)), "
    "ins AS (INSERT INTO deliveries (record_id, record_kind, record_key, revision, park_id, "
    "platform, report, mapping_version, idempotency_key, correction, status, priority, "
    "attempts, next_attempt_at, created_at, updated_at) "
    "SELECT up.id, up.kind, up.key, up.revision, up.park_id, r.platform, r.report, "
    f"r.mapping_version, {_KEY}, (up.revision > 1)::int, '{DeliveryStatus.PENDING}', "
    "r.priority, 0, %(now)b, %(now)b, %(now)b "
    "FROM up JOIN input ON input.kind = up.kind AND input.key = up.key "
    "JOIN routes r ON r.route_set = input.route_set "
    "ON CONFLICT (record_id, platform, report, revision, mapping_version) DO NOTHING "
    "RETURNING 1) "
    "SELECT {raw_id}, count(*) FILTER (WHERE up.revision = 1), "
    "count(*) FILTER (WHERE up.revision > 1), (SELECT count(*) FROM ins) FROM up"
)
# The answer: (raw id, duplicate, new, changed, deliveries). A duplicate message inserts no
# raw row; the one kept before is named.
UPSERT = WRITE.format(raw=RAW_BY_ID, raw_id="NULL::bigint, false")
INGEST = WRITE.format(
    raw=RAW_INSERT,
    raw_id="COALESCE((SELECT id FROM raw), (SELECT id FROM raw_inbox "
    "WHERE source = %(source)b AND body_hash = %(body_hash)b)), NOT EXISTS (SELECT 1 FROM raw)",
)
_ROUTE_FIELDS = ("route_set", "platform", "report", "mapping_version", "priority")


def batch_params(
    batch: Sequence[tuple[tuple[str, str], Record]], routes: RouteTable, source: str
) -> dict[str, Any]:
    """The parameters of WRITE for a batch: one list per record column (unnested by the
    server), the shared values, and the route sets.

    Each record names its route set: the platform reports it goes to (a report's `accepts`
    filter decides per record). Records of one kind and park mostly share one set, so the
    routes travel once per set, not once per record.
    """
    kinds: list[str] = []
    keys: list[str] = []
    parks: list[str] = []
    hashes: list[str] = []
    times: list[dt.datetime | None] = []
    docs: list[str] = []
    route_sets: list[int] = []
    sets: dict[tuple[Route, ...], int] = {}
    found: dict[tuple[str, str], tuple[tuple[Route, ...], bool]] = {}
    for (kind, key), rec in batch:
        blob = rec.document_json()
        kinds.append(kind)
        keys.append(key)
        parks.append(rec.park_id)
        hashes.append(jsonutil.bytes_hash(blob))
        times.append(event_time(rec))
        docs.append(blob.decode())
        subscribed = found.get((kind, rec.park_id))
        if subscribed is None:
            chosen = routes(kind, rec.park_id)
            subscribed = found[(kind, rec.park_id)] = (
                chosen,
                any(r.accepts is not None for r in chosen),
            )
        chosen, filtered = subscribed
        if filtered:  # the report takes only some records of this kind
            chosen = tuple(r for r in chosen if r.accepts is None or r.accepts(rec))
        index = sets.get(chosen)
        if index is None:
            index = sets[chosen] = len(sets)
        route_sets.append(index)
    columns: dict[str, list[Any]] = {name: [] for name in _ROUTE_FIELDS}
    for chosen, index in sets.items():
        for r in chosen:
            for name, value in zip(
                _ROUTE_FIELDS,
                (index, r.platform, r.report, r.mapping_version, r.priority),
                strict=True,
            ):
                columns[name].append(value)
    return {
        "kinds": kinds,
        "keys": keys,
        "parks": parks,
        "hashes": hashes,
        # psycopg cannot type a list of only None; a NULL array unnests as NULLs all the same
        "times": times if any(v is not None for v in times) else None,
        "docs": docs,
        "route_sets": route_sets,
        "source": source,
        "now": utcnow(),
        # a NULL array unnests to no rows
        **{name: values or None for name, values in columns.items()},
    }


class PostgresWriter:
    def __init__(self, db: Database, reviews: Reviews) -> None:
        self.db = db
        self.reviews = reviews

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
        items = list(latest(records).items())
        cursor = self.db.cursor(conn)
        for start in range(0, len(items), RECORDS_PER_STATEMENT):
            chunk = items[start : start + RECORDS_PER_STATEMENT]
            cursor.execute(UPSERT, {"raw_id": raw_id, **batch_params(chunk, routes, source)})
            _, _, new, changed, deliveries = cursor.fetchone()
            result.new += new
            result.changed += changed
            result.deliveries += deliveries
        result.unchanged = len(items) - result.new - result.changed
        return result

    @contextmanager
    def pages(self, routes: RouteTable) -> Iterator[PipelinedPages]:
        sink = PipelinedPages(self.db, routes, self.reviews)
        try:
            yield sink
        except GeneratorExit:  # the reader stopped: what was sent is committed and read back
            sink.close_quietly()
            raise
        except BaseException:  # a statement failed (or we cannot tell): nothing more commits
            sink.abort()
            raise
        else:
            try:
                sink.close()
            except BaseException:
                sink.abort()
                raise


class PipelinedPages:
    """Sends each message's transaction without waiting; reports outcomes one message later."""

    def __init__(self, db: Database, routes: RouteTable, reviews: Reviews) -> None:
        self._db = db
        self._routes = routes
        self._reviews = reviews
        self._cursor_sql = db.sql(SET_CURSOR)
        self._raw_id_sql = db.sql(RAW_ID)
        self._fairy = db.engine.raw_connection()
        self._conn: Any = self._fairy.driver_connection
        assert self._conn is not None
        self._conn.autocommit = True  # each message's BEGIN ... COMMIT goes in the pipeline
        self._stack = ExitStack()
        self._pipeline = self._stack.enter_context(self._conn.pipeline())
        self._pending: tuple[Any, Page[Any], int, RawStatus, dict[str, Any]] | None = None
        self._failed: BaseException | None = None
        self._closed = False

    def send(self, page: Page[Any]) -> Iterator[tuple[Any, Written]]:
        """Queue one message's transaction; gives back the outcome of the one queued before."""
        # Everything is built before the message before is read back: a failure here leaves
        # that one pending (and reported by `finish`), and the server stores it meanwhile.
        raw = page.raw
        batch = latest(page.records)
        status = RawStatus.of(page.record_count, page.errors)
        now = utcnow()
        params = {
            **batch_params(list(batch.items()), self._routes, raw.source),
            "stream": raw.stream,
            "received_at": raw.received_at or now,
            "content_type": raw.content_type,
            "body": raw.body,
            "body_hash": body_hash(raw.body),
            "status": str(status),
            "reason": str(page.errors[0]) if page.errors else None,
            "errors": errors_json(page.errors),
            "record_count": page.record_count,
            "meta": jsonutil.dumps_str(dict(raw.meta)) if raw.meta else None,
            "now": now,
        }
        done = self._confirm()
        try:
            if page.review:  # rare (findings, holds, merged fields): stored without the pipeline
                written = self._write_reviewed(page, params, len(batch), status)
                return iter([*done, (page.tag, written)])
            self._queue(page, params, len(batch), status)
        except BaseException as exc:
            if not done:
                raise
            # the message before committed: report it first, the failure comes next
            self._failed = exc
        return iter(done)

    def _queue(
        self, page: Page[Any], params: dict[str, Any], distinct: int, status: RawStatus
    ) -> None:
        conn = self._conn
        conn.execute("BEGIN")
        result = conn.cursor()
        result.execute(INGEST, params)
        if page.cursor is not None:
            stream, value = page.cursor
            conn.execute(
                self._cursor_sql,
                {"source": page.raw.source, "stream": stream, "value": value, "now": params["now"]},
            )
        conn.execute("COMMIT")
        self._pending = (result, page, distinct, status, params)

    def finish(self) -> Iterator[tuple[Any, Written]]:
        return iter(self._confirm())

    def _write_reviewed(
        self, page: Page[Any], params: dict[str, Any], distinct: int, status: RawStatus
    ) -> Written:
        """A message with a review: its transaction on a pooled connection, waited for, so
        the findings and holds name the raw message's id."""
        assert page.review is not None
        raw = page.raw
        with self._db.begin() as conn:
            cursor = self._db.cursor(conn)
            cursor.execute(INGEST, params)
            raw_id, duplicate, new, changed, deliveries = cursor.fetchone()
            if raw_id is None:  # stored meanwhile by another transaction (see _confirm)
                cursor.execute(self._raw_id_sql, params)
                raw_id = cursor.fetchone()[0]
            if not duplicate:
                self._reviews.write(conn, int(raw_id), raw.source, page.review)
            if page.cursor is not None:
                stream, value = page.cursor
                cursor.execute(
                    self._cursor_sql,
                    {"source": raw.source, "stream": stream, "value": value, "now": params["now"]},
                )
        unchanged = 0 if duplicate else distinct - new - changed
        return Written(int(raw_id), bool(duplicate), status, new, changed, unchanged, deliveries)

    def _confirm(self) -> list[tuple[Any, Written]]:
        if self._failed is not None:  # a message's statements failed as it was queued
            failed, self._failed = self._failed, None
            raise failed
        if self._pending is None:
            return []
        result, page, distinct, status, params = self._pending
        self._pending = None
        self._pipeline.sync()  # waits for the COMMIT of the message sent before
        raw_id, duplicate, new, changed, deliveries = result.fetchone()
        if raw_id is None:
            # the same body was stored by a transaction that committed while this statement
            # waited on it: the statement's snapshot could not see that row, a new one can
            again = self._conn.execute(
                self._raw_id_sql, {"source": params["source"], "body_hash": params["body_hash"]}
            )
            self._pipeline.sync()
            raw_id = again.fetchone()[0]
        unchanged = 0 if duplicate else distinct - new - changed
        written = Written(int(raw_id), bool(duplicate), status, new, changed, unchanged, deliveries)
        return [(page.tag, written)]

    def close(self) -> None:
        """Read the last outcome (`finish` first, to report it) and give the connection back."""
        self._confirm()
        if self._closed:
            return
        self._stack.close()  # leaves pipeline mode
        self._conn.autocommit = False
        self._closed = True
        self._fairy.close()

    def close_quietly(self) -> None:
        """A reader that stopped early: commit what was sent; a failure only logs."""
        try:
            self.close()
        except BaseException:
            self.abort()
            log.warning("storing the last message of a stopped pull failed", exc_info=True)

    def abort(self) -> None:
        """Drop the connection: the server rolls back the transaction it had open, and the
        connection never returns to the pool in pipeline or autocommit mode."""
        if self._closed:
            return
        self._closed = True
        self._stack.pop_all()  # the pipeline goes with the connection, not through a sync
        self._fairy.invalidate()
