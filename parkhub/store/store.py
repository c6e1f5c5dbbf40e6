"""The store: raw inbox first, then canonical records with revisions, and the delivery outbox.

Every write that must happen together happens in one transaction: records, their deliveries and
the source cursor move as one, so a crash anywhere loses nothing and duplicates nothing.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update

from parkhub.canonical import Record, jsonutil
from parkhub.canonical.jsonutil import bytes_hash
from parkhub.canonical.models import TIME_SERIES_KEYS
from parkhub.canonical.timeutil import as_utc, utcnow
from parkhub.errors import InputError

from . import schema as t
from .db import WalCheckpointer, make_engine, migrate, sqlite_file
from .keys import IDEMPOTENCY_KEY_SQL, KEY_COLUMNS, with_key
from .pipeline import PipelinedWriter, raw_status

UPSERT_CHUNK = 500  # rows per multi-VALUES statement: under SQLite's 32766 bind-variable limit
RECORD_COLUMNS = ("kind", "key", "park_id", "revision", "content_hash", "ts", "doc", "source",
                  "raw_id", "created_at", "updated_at")  # fmt: skip
OUTBOX_COLUMNS = (
    "record_id", "record_kind", "record_key", "revision", "park_id", "platform", "report",
    "mapping_version", "idempotency_key", "correction", "status", "priority", "attempts",
    "next_attempt_at", "created_at", "updated_at",
)  # fmt: skip
_RECORD_COLS = ",".join(f'"{c}"' for c in RECORD_COLUMNS)
_OUTBOX_COLS = ",".join(f'"{c}"' for c in OUTBOX_COLUMNS)
# A row whose content hash is unchanged is left alone, so RETURNING names new and changed rows.
_ON_RECORD_CHANGE = (
    'ON CONFLICT ("kind","key") DO UPDATE SET "revision"=records."revision"+1,'
    '"content_hash"=excluded."content_hash","ts"=excluded."ts","doc"=excluded."doc",'
    '"park_id"=excluded."park_id","source"=excluded."source","raw_id"=excluded."raw_id",'
    '"updated_at"=excluded."updated_at" '
    'WHERE records."content_hash" <> excluded."content_hash"'
)
_ON_RECORD_CONFLICT = f'{_ON_RECORD_CHANGE} RETURNING "id","kind","key","park_id","revision"'
_ON_OUTBOX_CONFLICT = (
    'ON CONFLICT ("record_id","platform","report","revision","mapping_version") DO NOTHING'
)
# PostgreSQL: one statement per batch does it all on the server, so nothing waits for a
# round trip: the records come as one binary array per column (unnested by the server), the
# upsert's RETURNING feeds the supersede and the outbox insert through CTEs, and the outbox
# rows (one per record and route of its route set, idempotency key included) are made there.
# `raw` is the raw message: a bound id (or NULL), or, for the pipelined writer, the insert of
# the message itself, so a duplicate message (no row) stores no record.
_PG_RAW_ID = "raw AS (SELECT %b::bigint AS id)"
_PG_RAW_INSERT = (
    "raw AS (INSERT INTO raw_inbox (source, stream, received_at, content_type, body, "
    "body_hash, status, reason, errors, record_count, parse_attempts, parsed_at, meta) "
    "VALUES (%b, %b, %b, %b, %b, %b, %b, %b, %b, %b, 1, %b, %b) "
    "ON CONFLICT (source, body_hash) DO NOTHING RETURNING id)"
)
_PG_WRITE = (
    "WITH {raw}, "
    "input AS (SELECT * FROM unnest(%b::varchar[], %b::varchar[], %b::varchar[], "
    "%b::varchar[], %b::timestamptz[], %b::text[], %b::int[]) "
    "AS u(kind, key, park_id, content_hash, ts, doc, route_set)), "
    f"up AS (INSERT INTO records ({_RECORD_COLS}) "
    "SELECT input.kind, input.key, input.park_id, 1, input.content_hash, input.ts, input.doc, "
    "%b::varchar, raw.id, %b, %b FROM input, raw "
    f"{_ON_RECORD_CONFLICT}), "
    # an older revision not yet delivered is replaced by the new one, never sent after it
    "sup AS (UPDATE deliveries SET status = 'superseded', updated_at = %b, lease_owner = NULL, "
    "lease_until = NULL WHERE record_id IN (SELECT id FROM up WHERE revision > 1) "
    "AND status IN ('pending', 'failed', 'dead')), "
    "routes AS (SELECT * FROM unnest(%b::int[], %b::varchar[], %b::varchar[], %b::varchar[], "
    "%b::int[]) AS r(route_set, platform, report, mapping_version, priority)), "
    f"ins AS (INSERT INTO deliveries ({_OUTBOX_COLS}) "
    "SELECT up.id, up.kind, up.key, up.revision, up.park_id, r.platform, r.report, "
    "r.mapping_version, 'ph2-' || left(encode(sha256(convert_to(concat_ws(chr(31), up.kind, "
    "up.key, up.revision, r.platform, r.report, r.mapping_version), 'UTF8')), 'hex'), 40), "
    "(up.revision > 1)::int, 'pending', r.priority, 0, %b, %b, %b "
    "FROM up JOIN input ON input.kind = up.kind AND input.key = up.key "
    "JOIN routes r ON r.route_set = input.route_set "
    f"{_ON_OUTBOX_CONFLICT} RETURNING 1) "
    "SELECT {raw_id}, count(*) FILTER (WHERE up.revision = 1), "
    "count(*) FILTER (WHERE up.revision > 1), (SELECT count(*) FROM ins) FROM up"
)
# The answer: (raw id, duplicate, new, changed, deliveries). A duplicate message inserts no
# raw row; the one kept before is named.
_PG_UPSERT = _PG_WRITE.format(raw=_PG_RAW_ID, raw_id="NULL::bigint, false")
_PG_INGEST = _PG_WRITE.format(
    raw=_PG_RAW_INSERT,
    raw_id="COALESCE((SELECT id FROM raw), "
    "(SELECT id FROM raw_inbox WHERE source = %b AND body_hash = %b)), "
    "NOT EXISTS (SELECT 1 FROM raw)",
)
PG_CHUNK = 5000  # records per statement when upserting outside the pipelined writer
# SQLite: a route's outbox rows, made by the database from the records just stored: those
# whose ids a JSON array names (in order, so that the rows land at the right edge of the
# outbox's indexes), or every record past an id (the records a bulk upsert inserted).
# Their idempotency key is stored by the first claim (Store.claim), not hashed here for every
# reading: most outbox rows wait for a report's schedule, many are superseded before it.
_SQLITE_OUTBOX_SELECT = (
    f"INSERT INTO deliveries ({_OUTBOX_COLS}) "
    "SELECT r.id, r.kind, r.key, r.revision, r.park_id, ?2, ?3, ?4, NULL, r.revision > 1, "
    "'pending', ?5, 0, ?1, ?1, ?1 "
)
_SQLITE_OUTBOX = (
    f"{_SQLITE_OUTBOX_SELECT}FROM json_each(?6) AS j CROSS JOIN records AS r "
    f"ON r.id = j.value WHERE true {_ON_OUTBOX_CONFLICT}"
)
_SQLITE_OUTBOX_AFTER = (
    f"{_SQLITE_OUTBOX_SELECT}FROM records AS r WHERE r.id > ?6 ORDER BY r.id {_ON_OUTBOX_CONFLICT}"
)
# ... and the rows of a bulk upsert that changed: not new, and carrying both this upsert's raw
# message and its time stamp (an unchanged row keeps the raw id and stamp of its last change)
_SQLITE_CHANGED = (
    "SELECT r.id FROM json_each(?1) AS j CROSS JOIN records AS r "
    "ON r.kind = ?2 AND r.key = j.value "
    "WHERE r.id <= ?3 AND r.updated_at = ?4 AND r.raw_id = ?5 ORDER BY r.id"
)
_HAS_TS: dict[type[Record], bool] = {}  # record class -> has an event time (a `ts` field)


def _sqlite_time(value: dt.datetime) -> str:
    """What UTCDateTime stores on SQLite: naive UTC text with microseconds."""
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _event_time(rec: Record) -> dt.datetime | None:
    """The `ts` column of a record: its event time (events), without pydantic's slow
    missing-attribute path. Time-series kinds (TIME_SERIES_KEYS) have theirs at the head of
    their key, which is what period queries read: the column stays empty for them."""
    if rec.kind in TIME_SERIES_KEYS:
        return None
    cls = type(rec)
    has_ts = _HAS_TS.get(cls)
    if has_ts is None:
        has_ts = _HAS_TS[cls] = "ts" in cls.model_fields
    return getattr(rec, "ts") if has_ts else None  # noqa: B009


def _pg_write_params(
    chunk: Sequence[tuple[tuple[str, str], Record]], routes: RouteFn, source: str
) -> tuple[Any, ...]:
    """The parameters of a PostgreSQL write (_PG_WRITE) after its `raw` part: one list per
    record column (unnested by the server), the shared values, and the route sets.

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
    for (kind, key), rec in chunk:
        blob = rec.document_json()
        kinds.append(kind)
        keys.append(key)
        parks.append(rec.park_id)
        hashes.append(bytes_hash(blob))
        times.append(_event_time(rec))
        docs.append(blob.decode())
        subscribed = found.get((kind, rec.park_id))
        if subscribed is None:
            chosen = tuple(routes(kind, rec.park_id))
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
    columns: tuple[list[Any], ...] = ([], [], [], [], [])
    for chosen, index in sets.items():
        for r in chosen:
            for column, value in zip(
                columns, (index, r.platform, r.report, r.mapping_version, r.priority), strict=True
            ):
                column.append(value)
    now = utcnow()
    return (
        kinds, keys, parks, hashes, _array(times), docs, route_sets,  # input
        source, now, now,  # up
        now,  # sup
        *(c or None for c in columns),  # routes (a NULL array unnests to no rows)
        now, now, now,  # ins
    )  # fmt: skip


def _array(values: list[Any]) -> list[Any] | None:
    # psycopg cannot type a list of only None; a NULL array unnests as NULLs all the same
    return values if any(v is not None for v in values) else None


def _dbapi_cursor(conn: Connection) -> Any:
    """A cursor of the driver connection under `conn`, inside the same transaction."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    return dbapi.cursor()


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    """(start, count) slices: full `size` chunks, then the rest in powers of two, so a handful
    of statement texts serve every batch size (each is prepared once and cached)."""
    start = 0
    while total - start >= size:
        yield start, size
        start += size
    step = 1 << (size.bit_length() - 1)
    while start < total:
        while step > total - start:
            step >>= 1
        yield start, step
        start += step


def _upsert_params(
    rows: list[tuple[Any, ...]], shared: tuple[Any, ...]
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(rows, parameters) of each SQLite upsert statement: the shared values, then the rows'."""
    for start, n in _chunks(len(rows), UPSERT_CHUNK):
        yield n, shared + tuple(chain.from_iterable(rows[start : start + n]))


@dataclass(frozen=True, slots=True)
class Route:
    """A subscription: records of a kind (in a park) go to a platform's report."""

    platform: str
    report: str
    mapping_version: str
    priority: int = 100
    accepts: Callable[[Any], bool] | None = field(default=None, compare=False)
    """Per-record filter (ReportSpec.accepts) when the report takes only some of the kind."""


RouteFn = Callable[[str, str], Sequence[Route]]


@dataclass(slots=True)
class UpsertResult:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deliveries: int = 0


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed by a dispatcher, with the record revision it carries."""

    id: int
    record_id: int
    record_kind: str
    record_key: str
    revision: int
    park_id: str
    platform: str
    report: str
    mapping_version: str
    idempotency_key: str
    correction: bool
    attempts: int
    doc: dict[str, Any]
    current_revision: int


class Store:
    """All database access of parkhub; one instance per process, safe to share across threads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        path = sqlite_file(engine)
        self._checkpointer = WalCheckpointer(path) if path else None
        self._sql_cache: dict[tuple[str, int], str] = {}
        self._now_lock = threading.Lock()
        self._last_now = ""
        m = "?" if self.dialect == "sqlite" else "%s"
        # The statements of every ingest transaction, for the driver (SQLAlchemy's Core costs
        # ~0.3 ms a statement here: ~1 us per record at 1000 records a message).
        self._sql = {
            "insert_raw": (
                "INSERT INTO raw_inbox (source, stream, received_at, content_type, body, "
                "body_hash, status, reason, record_count, parse_attempts, meta) "
                f"VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m}, {m}, 0, 0, {m}) "
                "ON CONFLICT (source, body_hash) DO NOTHING RETURNING id"
            ),
            "raw_id": f"SELECT id FROM raw_inbox WHERE source = {m} AND body_hash = {m}",
            "finish_raw": (
                f"UPDATE raw_inbox SET status = {m}, reason = {m}, errors = {m}, "
                f"record_count = {m}, parse_attempts = parse_attempts + 1, parsed_at = {m} "
                f"WHERE id = {m}"
            ),
            "set_cursor": (
                "INSERT INTO cursors (source, stream, value, updated_at) "
                f"VALUES ({m}, {m}, {m}, {m}) ON CONFLICT (source, stream) "
                "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
            ),
        }
        self._mark_sent_sql = (
            f"UPDATE deliveries SET status='sent',payload={m},payload_hash={m},receipt_id={m},"
            f"receipt={m},sent_at={m},updated_at={m},lease_owner=NULL,lease_until=NULL,"
            "last_error=NULL,error_kind=NULL "
            f"WHERE id={m} AND lease_owner={m} AND status='in_flight'"
        )

    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True) -> Store:
        store = cls(make_engine(url))
        if migrate_schema:
            try:
                migrate(store.engine)
            except BaseException:
                store.close()
                raise
        return store

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- raw inbox ----------------------------------------------------------------------------

    def insert_raw(
        self,
        conn: Connection,
        *,
        source: str,
        stream: str,
        body: bytes,
        content_type: str = "application/json",
        received_at: dt.datetime | None = None,
        status: str = "received",
        reason: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> tuple[int, bool]:
        """Keep a received message; return (raw_id, is_new). The same body twice is kept once.

        A refused message is keyed with its reason, so a forged copy of a genuine body is kept
        beside it rather than folded into it.
        """
        salt = b"" if status != "rejected" else f"rejected\x00{reason}\x00".encode()
        digest = jsonutil.bytes_hash(salt + body)
        # Straight to the driver, like the rest of the ingest transaction (one per raw message).
        cursor = _dbapi_cursor(conn)
        cursor.execute(
            self._sql["insert_raw"],
            (
                source,
                stream,
                self._db_time(received_at or utcnow()),
                content_type,
                body,
                digest,
                status,
                reason,
                jsonutil.dumps_str(meta) if meta else None,
            ),
        )
        row = cursor.fetchone()
        if row is not None:
            return int(row[0]), True
        cursor.execute(self._sql["raw_id"], (source, digest))
        return int(cursor.fetchone()[0]), False

    def finish_raw(
        self,
        conn: Connection,
        raw_id: int,
        *,
        records: int,
        errors: Sequence[InputError],
        rejected_reason: str | None = None,
    ) -> str:
        status = "rejected" if rejected_reason is not None else raw_status(records, errors)
        _dbapi_cursor(conn).execute(
            self._sql["finish_raw"],
            (
                status,
                rejected_reason or (str(errors[0]) if errors else None),
                jsonutil.dumps_str([e.as_dict() for e in errors]) if errors else None,
                records,
                self._db_time(utcnow()),
                raw_id,
            ),
        )
        return status

    def raw_messages(
        self,
        *,
        source: str | None = None,
        statuses: Iterable[str] = ("rejected", "partial"),
        ids: Iterable[int] | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        q = select(t.raw_inbox).order_by(t.raw_inbox.c.id).limit(limit)
        if ids is not None:
            q = q.where(t.raw_inbox.c.id.in_(list(ids)))
        else:
            q = q.where(t.raw_inbox.c.status.in_(list(statuses)))
        if source:
            q = q.where(t.raw_inbox.c.source == source)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    # -- records and the outbox -------------------------------------------------------------

    def upsert_records(
        self,
        conn: Connection,
        recs: Sequence[Record],
        *,
        source: str,
        raw_id: int | None,
        routes: RouteFn,
    ) -> UpsertResult:
        """Store records by natural key; a changed record gets a new revision and new deliveries.

        An unchanged record (same content hash) touches nothing: the same input twice gives no
        new revision and no new delivery.
        """
        result = UpsertResult()
        if not recs:
            return result
        latest: dict[tuple[str, str], Record] = {}
        for rec in recs:  # last one wins inside a batch
            latest[(rec.kind, rec.key)] = rec
        cursor = _dbapi_cursor(conn)  # the driver's own, inside the same transaction
        if self.dialect == "sqlite":
            self._upsert_sqlite(cursor, latest, source, raw_id, routes, result)
        else:
            self._upsert_pg(cursor, latest, source, raw_id, routes, result)
        return result

    def _route_ids(
        self,
        touched: Iterable[tuple[int, str, str, str, int]],
        routes: RouteFn,
        result: UpsertResult,
        latest: dict[tuple[str, str], Record],
        changed_ids: list[int],
    ) -> dict[Route, list[int]]:
        """Count what `touched` (new or changed rows) were; the record ids each route takes."""
        groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for rec_id, kind, key, park_id, revision in touched:
            if revision == 1:
                result.new += 1
            else:
                result.changed += 1
                changed_ids.append(rec_id)
            group = groups.get((kind, park_id))
            if group is None:
                group = groups[(kind, park_id)] = []
            group.append((rec_id, key))
        taken: dict[Route, list[int]] = {}
        for (kind, park_id), rows in groups.items():
            for r in routes(kind, park_id):
                ids = taken.setdefault(r, [])
                if r.accepts is None:
                    ids.extend(rec_id for rec_id, _ in rows)
                else:  # the report takes only some records of this kind
                    ids.extend(rec_id for rec_id, key in rows if r.accepts(latest[(kind, key)]))
        return {r: ids for r, ids in taken.items() if ids}

    def _db_time(self, value: dt.datetime) -> Any:
        # The raw driver path skips SQLAlchemy's types, so store what UTCDateTime would.
        if self.dialect == "sqlite":
            return _sqlite_time(value)
        return value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)

    # SQLite: multi-row statements straight to the driver. Values shared by every row (source,
    # raw id, time) are bound once, as numbered parameters; RETURNING gives back only the rows
    # that were new or changed.

    def _upsert_sqlite(
        self,
        cursor: Any,
        latest: dict[tuple[str, str], Record],
        source: str,
        raw_id: int | None,
        routes: RouteFn,
        result: UpsertResult,
    ) -> None:
        now = self._sqlite_now()
        rows: list[tuple[Any, ...]] = []
        groups: set[tuple[str, str]] = set()
        for (kind, key), rec in latest.items():
            ts = _event_time(rec)
            stamp = None if ts is None else _sqlite_time(ts)
            blob = rec.document_json()
            park_id = rec.park_id
            groups.add((kind, park_id))
            rows.append((kind, key, park_id, bytes_hash(blob), stamp, blob.decode()))
        shared = (source, raw_id, now)
        if len(groups) == 1 and raw_id is not None:
            [(kind, park_id)] = groups
            subscribed = routes(kind, park_id)
            if all(r.accepts is None for r in subscribed):
                self._upsert_sqlite_bulk(cursor, rows, shared, kind, subscribed, result)
                return
        touched: list[Any] = []
        for n, params in _upsert_params(rows, shared):
            cursor.execute(self._sqlite_upsert_sql(n, returning=True), params)
            touched.extend(cursor.fetchall())
        result.unchanged = len(rows) - len(touched)
        changed_ids: list[int] = []
        taken = self._route_ids(touched, routes, result, latest, changed_ids)
        self._supersede_sqlite(cursor, changed_ids, now)
        for r, ids in taken.items():
            self._outbox_sqlite(cursor, _SQLITE_OUTBOX, r, now, jsonutil.dumps_str(ids), result)

    def _upsert_sqlite_bulk(
        self,
        cursor: Any,
        rows: list[tuple[Any, ...]],
        shared: tuple[Any, ...],
        kind: str,
        subscribed: Sequence[Route],
        result: UpsertResult,
    ) -> None:
        """Records of one raw message, of one kind and park, whose routes take them all (a page
        of readings): no RETURNING (~1 us a record). New rows are those past the largest id
        before; changed rows those carrying this message's raw id and this upsert's stamp
        (both together: another process may stamp the same microsecond, but not for the same
        raw message); what a route takes is chosen by the database."""
        raw_id, now = shared[1], shared[2]
        before = cursor.execute("SELECT coalesce(max(id), 0) FROM records").fetchone()[0]
        touched = 0
        for n, params in _upsert_params(rows, shared):
            cursor.execute(self._sqlite_upsert_sql(n, returning=False), params)
            touched += cursor.rowcount
        new = cursor.execute("SELECT count(*) FROM records WHERE id > ?", (before,)).fetchone()[0]
        result.new += new
        result.changed += touched - new
        result.unchanged += len(rows) - touched
        changed_ids: list[int] = []
        if touched > new:
            for start in range(0, len(rows), UPSERT_CHUNK):
                keys = jsonutil.dumps_str([row[1] for row in rows[start : start + UPSERT_CHUNK]])
                found = cursor.execute(_SQLITE_CHANGED, (keys, kind, before, now, raw_id))
                changed_ids.extend(rec_id for (rec_id,) in found)
        self._supersede_sqlite(cursor, changed_ids, now)
        for r in subscribed:
            if new:
                self._outbox_sqlite(cursor, _SQLITE_OUTBOX_AFTER, r, now, before, result)
            if changed_ids:
                ids = jsonutil.dumps_str(changed_ids)
                self._outbox_sqlite(cursor, _SQLITE_OUTBOX, r, now, ids, result)

    def _sqlite_now(self) -> str:
        """The time of an upsert, as stored: strictly later than the one before in this store
        (with the raw id, it names the rows a bulk upsert changed)."""
        now = _sqlite_time(utcnow())
        with self._now_lock:
            if now <= self._last_now:
                stamp = dt.datetime.fromisoformat(self._last_now) + dt.timedelta(microseconds=1)
                now = stamp.isoformat(" ", "microseconds")
            self._last_now = now
        return now

    def _supersede_sqlite(self, cursor: Any, changed_ids: list[int], now: str) -> None:
        """An older revision not yet delivered is replaced by the new one, never sent after."""
        for start in range(0, len(changed_ids), UPSERT_CHUNK):
            chunk = changed_ids[start : start + UPSERT_CHUNK]
            cursor.execute(
                "UPDATE deliveries SET status='superseded', updated_at=?, lease_owner=NULL, "
                f"lease_until=NULL WHERE record_id IN ({','.join('?' * len(chunk))}) "
                "AND status IN ('pending', 'failed', 'dead')",
                (now, *chunk),
            )

    @staticmethod
    def _outbox_sqlite(
        cursor: Any, sql: str, r: Route, now: str, which: Any, result: UpsertResult
    ) -> None:
        cursor.execute(sql, (now, r.platform, r.report, r.mapping_version, r.priority, which))
        result.deliveries += cursor.rowcount

    def _sqlite_upsert_sql(self, rows: int, *, returning: bool) -> str:
        name = "upsert_returning" if returning else "upsert"
        sql = self._sql_cache.get((name, rows))
        if sql is None:
            values = ",".join(
                f"(?{b + 1},?{b + 2},?{b + 3},1,?{b + 4},?{b + 5},?{b + 6},?1,?2,?3,?3)"
                for b in range(3, 3 + 6 * rows, 6)
            )
            tail = _ON_RECORD_CONFLICT if returning else _ON_RECORD_CHANGE
            sql = self._sql_cache[(name, rows)] = (
                f"INSERT INTO records ({_RECORD_COLS}) VALUES {values} {tail}"
            )
        return sql

    # PostgreSQL: one statement per chunk (_PG_WRITE), in the caller's transaction.

    def _upsert_pg(
        self,
        cursor: Any,
        latest: dict[tuple[str, str], Record],
        source: str,
        raw_id: int | None,
        routes: RouteFn,
        result: UpsertResult,
    ) -> None:
        items = list(latest.items())
        for start in range(0, len(items), PG_CHUNK):
            chunk = items[start : start + PG_CHUNK]
            cursor.execute(_PG_UPSERT, (raw_id, *_pg_write_params(chunk, routes, source)))
            _, _, new, changed, deliveries = cursor.fetchone()
            result.new += new
            result.changed += changed
            result.deliveries += deliveries
        result.unchanged = len(items) - result.new - result.changed

    def pipelined_writer(self, routes: RouteFn) -> PipelinedWriter[Any]:
        """PostgreSQL: a writer that stores raw messages without waiting for the server."""
        return PipelinedWriter(self, routes)

    def records_of(
        self, kind: str, *, park_id: str | None = None, conn: Connection | None = None
    ) -> list[dict[str, Any]]:
        q = select(t.records.c.doc).where(t.records.c.kind == kind).order_by(t.records.c.key)
        if park_id is not None:
            q = q.where(t.records.c.park_id == park_id)
        if conn is not None:
            return [jsonutil.loads(r[0]) for r in conn.execute(q)]
        with self.engine.connect() as c:
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
        with self.engine.connect() as conn:
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
        self, kind: str, *, park_id: str, start: dt.datetime, end: dt.datetime, batch: int = 5000
    ) -> Iterator[dict[str, Any]]:
        """Stream documents of a kind in a park whose event time is in [start, end).

        Time-series kinds (keys that start with the ISO time) are read as a key range of the
        (kind, key) index; other kinds through the (park, kind, ts) index.
        """
        rc = t.records.c
        by_key = kind in TIME_SERIES_KEYS
        # ISO times of aware UTC values sort as text: "...:00+00:00|" < "...:00.5+00:00"
        low, high = as_utc(start).isoformat(), as_utc(end).isoformat()
        last: Any = "" if by_key else 0
        order = rc.key if by_key else rc.id
        with self.engine.connect() as conn:
            while True:
                q = select(order, rc.doc).where(rc.kind == kind, rc.park_id == park_id)
                # other kinds: the partial index's own predicate, word for word (SQLite uses
                # a partial index only then)
                q = (
                    q.where(rc.key >= low, rc.key < high)
                    if by_key
                    else q.where(rc.ts >= start, rc.ts < end, t.NOT_TIME_SERIES)
                )
                rows = conn.execute(q.where(order > last).order_by(order).limit(batch)).all()
                if not rows:
                    return
                for _, doc in rows:
                    yield jsonutil.loads(doc)
                last = rows[-1][0]

    def record(self, kind: str, key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.records).where(t.records.c.kind == kind, t.records.c.key == key)
            ).first()
        return dict(row._mapping) if row else None

    def parks_of(self, kind: str, keys: Iterable[str]) -> dict[str, str]:
        """The park of each stored record of `kind` among `keys` (absent keys are left out)."""
        rc = t.records.c
        wanted = sorted(set(keys))
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), UPSERT_CHUNK):
                chunk = wanted[start : start + UPSERT_CHUNK]
                q = select(rc.key, rc.park_id).where(rc.kind == kind, rc.key.in_(chunk))
                out.update((key, park) for key, park in conn.execute(q))
        return out

    def count_records(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.records.c.kind, func.count()).group_by(t.records.c.kind)
            ).all()
        return {kind: int(n) for kind, n in rows}

    # -- cursors ------------------------------------------------------------------------------

    def get_cursor(self, source: str, stream: str, conn: Connection | None = None) -> str | None:
        q = select(t.cursors.c.value).where(
            t.cursors.c.source == source, t.cursors.c.stream == stream
        )
        if conn is not None:
            return conn.execute(q).scalar_one_or_none()
        with self.engine.connect() as c:
            return c.execute(q).scalar_one_or_none()

    def set_cursor(self, conn: Connection, source: str, stream: str, value: str | None) -> None:
        _dbapi_cursor(conn).execute(
            self._sql["set_cursor"], (source, stream, value, self._db_time(utcnow()))
        )

    # -- dispatch -----------------------------------------------------------------------------

    def claim(
        self,
        owner: str,
        *,
        limit: int = 100,
        lease_seconds: float = 60.0,
        platforms: Sequence[str] | None = None,
        max_priority: int | None = None,
    ) -> list[Claimed]:
        """Claim due deliveries (pending, failed and due, or in flight with an expired lease).

        PostgreSQL: FOR UPDATE SKIP LOCKED, so many workers claim disjoint rows. SQLite: the
        BEGIN IMMEDIATE write lock makes the claim single-writer.
        """
        now = utcnow()
        d = t.deliveries.c
        due = or_(
            and_(d.status.in_(("pending", "failed")), d.next_attempt_at <= now),
            and_(d.status == "in_flight", d.lease_until < now),
        )
        pick = select(d.id).where(due)
        if platforms is not None:
            pick = pick.where(d.platform.in_(list(platforms)))
        if max_priority is not None:
            pick = pick.where(d.priority <= max_priority)
        pick = pick.order_by(d.priority, d.next_attempt_at, d.id).limit(limit)
        pick = pick.with_for_update(skip_locked=True)
        claimed: dict[str, Any] = {
            "status": "in_flight",
            "lease_owner": owner,
            "lease_until": now + dt.timedelta(seconds=lease_seconds),
            "attempts": d.attempts + 1,
            "updated_at": now,
        }
        if self.dialect == "sqlite":  # the key is stored before anything is sent with it
            derived = getattr(func, IDEMPOTENCY_KEY_SQL)(*(d[c] for c in KEY_COLUMNS))
            claimed["idempotency_key"] = func.coalesce(d.idempotency_key, derived)
        with self.engine.begin() as conn:
            ids = [r[0] for r in conn.execute(pick)]
            if not ids:
                return []
            conn.execute(update(t.deliveries).where(d.id.in_(ids)).values(claimed))
            rc = t.records.c
            rows = conn.execute(
                select(
                    d.id,
                    d.record_id,
                    d.record_kind,
                    d.record_key,
                    d.revision,
                    d.park_id,
                    d.platform,
                    d.report,
                    d.mapping_version,
                    d.idempotency_key,
                    d.correction,
                    d.attempts,
                    rc.doc,
                    rc.revision,
                )
                .join(t.records, rc.id == d.record_id)
                .where(d.id.in_(ids))
                .order_by(d.priority, d.next_attempt_at, d.id)
            ).all()
        return [
            Claimed(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                r[9],
                bool(r[10]),
                r[11],
                jsonutil.loads(r[12]),
                r[13],
            )
            for r in rows
        ]

    def mark_sent(
        self,
        conn: Connection,
        delivery_id: int,
        owner: str,
        *,
        payload: str,
        receipt_id: str,
        receipt: dict[str, Any],
    ) -> bool:
        """Record the receipt; False if our lease was lost (another worker took the row over)."""
        d = t.deliveries.c
        now = utcnow()
        res = conn.execute(
            update(t.deliveries)
            .where(d.id == delivery_id, d.lease_owner == owner, d.status == "in_flight")
            .values(
                status="sent",
                payload=payload,
                payload_hash=jsonutil.bytes_hash(payload.encode()),
                receipt_id=receipt_id,
                receipt=jsonutil.dumps_str(receipt),
                sent_at=now,
                updated_at=now,
                lease_owner=None,
                lease_until=None,
                last_error=None,
                error_kind=None,
            )
        )
        return res.rowcount == 1

    def mark_sent_many(
        self, conn: Connection, owner: str, sent: Sequence[tuple[int, str, str, dict[str, Any]]]
    ) -> None:
        """Record many receipts at once: (delivery id, payload, receipt id, receipt) each.

        One prepared statement for the whole batch, straight to the driver; a row whose lease
        was lost (another worker took it over) is left to its new owner, as in `mark_sent`.
        """
        if not sent:
            return
        when = self._db_time(utcnow())
        rows = [
            (
                payload,
                jsonutil.bytes_hash(payload.encode()),
                receipt_id,
                jsonutil.dumps_str(receipt),
                when,
                when,
                delivery_id,
                owner,
            )
            for delivery_id, payload, receipt_id, receipt in sent
        ]
        conn.exec_driver_sql(self._mark_sent_sql, rows)

    def mark_failed(
        self,
        conn: Connection,
        delivery_id: int,
        owner: str,
        *,
        error: str,
        transient: bool,
        next_attempt_at: dt.datetime | None,
        payload: str | None = None,
    ) -> str:
        """Failed: retry at next_attempt_at, or dead when it is None. Returns the new status."""
        d = t.deliveries.c
        status = "failed" if next_attempt_at is not None else "dead"
        values: dict[str, Any] = {
            "status": status,
            "last_error": error[:2000],
            "error_kind": "transient" if transient else "permanent",
            "next_attempt_at": next_attempt_at or utcnow(),
            "updated_at": utcnow(),
            "lease_owner": None,
            "lease_until": None,
        }
        if payload is not None:
            values["payload"] = payload
            values["payload_hash"] = jsonutil.bytes_hash(payload.encode())
        conn.execute(
            update(t.deliveries)
            .where(d.id == delivery_id, d.lease_owner == owner, d.status == "in_flight")
            .values(**values)
        )
        return status

    def mark_superseded(self, conn: Connection, delivery_id: int, owner: str) -> None:
        d = t.deliveries.c
        conn.execute(
            update(t.deliveries)
            .where(d.id == delivery_id, d.lease_owner == owner)
            .values(status="superseded", lease_owner=None, lease_until=None, updated_at=utcnow())
        )

    def first_sent_revisions(
        self, keys: Iterable[tuple[int, str, str]]
    ) -> dict[tuple[int, str, str], int]:
        """The lowest revision delivered, per (record id, platform, report) that has one."""
        d = t.deliveries.c
        wanted = set(keys)
        out: dict[tuple[int, str, str], int] = {}
        ids = sorted({k[0] for k in wanted})
        with self.engine.connect() as conn:
            for start in range(0, len(ids), UPSERT_CHUNK):
                rows = conn.execute(
                    select(d.record_id, d.platform, d.report, func.min(d.revision))
                    .where(d.record_id.in_(ids[start : start + UPSERT_CHUNK]), d.status == "sent")
                    .group_by(d.record_id, d.platform, d.report)
                )
                for record_id, platform, report, revision in rows:
                    if (record_id, platform, report) in wanted:
                        out[(record_id, platform, report)] = int(revision)
        return out

    def previously_sent(self, record_id: int, platform: str, report: str, revision: int) -> bool:
        """Was an earlier revision of this record delivered to this report? (then: a correction)"""
        d = t.deliveries.c
        q = select(func.count()).where(
            d.record_id == record_id,
            d.platform == platform,
            d.report == report,
            d.revision < revision,
            d.status == "sent",
        )
        with self.engine.connect() as conn:
            return bool(conn.execute(q).scalar_one())

    # -- status, listing, replay --------------------------------------------------------------

    def status_counts(self, *, park_id: str | None = None) -> dict[str, dict[str, int]]:
        """Deliveries per platform and status (of one park's records, with `park_id`)."""
        d = t.deliveries.c
        q = select(d.platform, d.status, func.count()).group_by(d.platform, d.status)
        if park_id is not None:
            q = q.where(d.park_id == park_id)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        out: dict[str, dict[str, int]] = {}
        for platform, status, n in rows:
            out.setdefault(platform, {})[status] = int(n)
        return out

    def status_counts_by_park(self) -> dict[str, dict[str, dict[str, int]]]:
        """`status_counts` of every park at once: {park: {platform: {status: n}}}, one scan."""
        d = t.deliveries.c
        q = select(d.park_id, d.platform, d.status, func.count()).group_by(
            d.park_id, d.platform, d.status
        )
        out: dict[str, dict[str, dict[str, int]]] = {}
        with self.engine.connect() as conn:
            for park_id, platform, status, n in conn.execute(q):
                out.setdefault(park_id, {}).setdefault(platform, {})[status] = int(n)
        return out

    def deliveries(
        self,
        *,
        status: Sequence[str] | None = None,
        platform: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        error_contains: str | None = None,
        ids: Sequence[int] | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        d = t.deliveries.c
        q = select(t.deliveries).order_by(d.id.desc()).limit(limit)
        q = q.where(*self._filters(status, platform, since, until, error_contains, ids))
        with self.engine.connect() as conn:
            return [with_key(dict(r._mapping)) for r in conn.execute(q)]

    def _filters(
        self,
        status: Sequence[str] | None,
        platform: str | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        error_contains: str | None,
        ids: Sequence[int] | None,
    ) -> list[Any]:
        d = t.deliveries.c
        conds: list[Any] = []
        if status:
            conds.append(d.status.in_(list(status)))
        if platform:
            conds.append(d.platform == platform)
        if since:
            conds.append(d.updated_at >= since)
        if until:
            conds.append(d.updated_at < until)
        if error_contains:
            conds.append(d.last_error.contains(error_contains, autoescape=True))
        if ids:
            conds.append(d.id.in_(list(ids)))
        return conds

    def replay(
        self,
        *,
        actor: str,
        platform: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        error_contains: str | None = None,
        ids: Sequence[int] | None = None,
        statuses: Sequence[str] = ("dead",),
    ) -> int:
        """Put matching dead deliveries back in the queue (same idempotency key), audited."""
        now = utcnow()
        with self.engine.begin() as conn:
            res = conn.execute(
                update(t.deliveries)
                .where(*self._filters(statuses, platform, since, until, error_contains, ids))
                .values(status="pending", attempts=0, next_attempt_at=now, updated_at=now)
            )
            count = res.rowcount
            self.audit(
                conn,
                actor,
                "replay",
                {
                    "platform": platform,
                    "since": since.isoformat() if since else None,
                    "until": until.isoformat() if until else None,
                    "error": error_contains,
                    "ids": list(ids) if ids else None,
                    "count": count,
                },
            )
        return int(count)

    def audit(self, conn: Connection, actor: str, action: str, detail: dict[str, Any]) -> None:
        conn.execute(
            insert(t.audit).values(
                at=utcnow(), actor=actor, action=action, detail=jsonutil.dumps_str(detail)
            )
        )

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.audit).order_by(t.audit.c.id.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]
