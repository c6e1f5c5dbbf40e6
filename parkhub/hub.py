"""The service facade that the CLI, the web app and the scheduler call.

ingest (pull or push) -> raw inbox -> canonical records -> outbox; build_reports; dispatch;
status; replay; reparse. One Hub per process.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from parkhub.adapters.platforms.base import ReportSpec
from parkhub.adapters.vendors.base import (
    ParseResult,
    PushRequest,
    PushVerdict,
    RawMessage,
    SourceContext,
    VendorAdapter,
)
from parkhub.adapters.vendors.manual import ManualAdapter, ManualConfig
from parkhub.adapters.vendors.manual.importer import MONTHLY, content_type_for, read_metadata
from parkhub.adapters.vendors.manual.template import template_bytes
from parkhub.canonical import Record, jsonutil
from parkhub.canonical.timeutil import previous_period, utcnow
from parkhub.config import HubConfig, PlatformConfig, Subscription, platform_config, vendor_config
from parkhub.errors import ConfigError, ForeignRecordsError, InputError, SourceError
from parkhub.mappings import load_mapping
from parkhub.reports.calendar import PERIODIC_KINDS, CalendarEntry, deadline_for, entry_for
from parkhub.reports.park_monthly import MonthlyInputs, build_park_monthly
from parkhub.scheduler.dispatcher import (
    Dispatcher,
    DispatchStats,
    PlatformRuntime,
    RetrySettings,
)
from parkhub.scheduler.service import Job
from parkhub.store import Route, Store, UpsertResult, database_url
from parkhub.store.pipeline import PipelinedWriter, Written

log = logging.getLogger("parkhub")
CONFIG_SOURCE = "parkhub.config"
REPORT_SOURCE = "parkhub.reports"
ENTRY_PREFIX = "entry:"
# SQLite: pages a pull yields back to back share a transaction up to this many records, or
# this long after the first one arrived (docs/performance.md)
GROUP_RECORDS = 5000
GROUP_SECONDS = 0.5
GC_YOUNG_THRESHOLD = 20_000  # container allocations between collections of the young objects
_gc_tuned = False


def tune_gc() -> None:
    """Collector settings for a parkhub process: the `parkhub` command sets them at start.

    A page of 1000 readings allocates some 10,000 container objects (rows, models, tuples). At
    CPython's default threshold of 700 that is a dozen collections a page, and every so often
    one of them walks the whole heap (SQLAlchemy, pydantic's schemas, the config). Freezing
    what start-up loaded keeps it out of every collection, and a young generation of 20,000
    makes collections rare: ingest runs ~15 % faster (docs/performance.md). What parkhub
    allocates per record holds no reference cycles, so reference counting frees it as before;
    the collector only looks for cycles.
    """
    global _gc_tuned
    if _gc_tuned:  # once a process: a later freeze would pin whatever became garbage since
        return
    _gc_tuned = True
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), middle, old)


@dataclass
class IngestResult:
    """What one raw message became."""

    raw_id: int
    duplicate: bool = False
    status: str = "parsed"
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deliveries: int = 0
    errors: list[InputError] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)


def status_summary(counts: dict[str, int]) -> dict[str, int]:
    """A platform's deliveries as operators see them: in flight counts as pending."""
    return {
        "sent": counts.get("sent", 0),
        "pending": counts.get("pending", 0) + counts.get("in_flight", 0),
        "failed": counts.get("failed", 0),
        "dead": counts.get("dead", 0),
        "superseded": counts.get("superseded", 0),
    }


@dataclass
class SyncResult:
    source: str
    messages: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deliveries: int = 0
    errors: list[InputError] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)
    failure: str | None = None

    def add(self, r: IngestResult) -> None:
        self.messages += 1
        self.new += r.new
        self.changed += r.changed
        self.unchanged += r.unchanged
        self.deliveries += r.deliveries
        self.errors.extend(r.errors)
        self.warnings.extend(r.warnings)


class Hub:
    def __init__(
        self, config: HubConfig, store: Store, *, http: httpx.Client | None = None
    ) -> None:
        self.config = config
        self.store = store
        self._http = http
        self._adapters: dict[str, VendorAdapter[Any]] = {}
        self._platforms: dict[str, PlatformRuntime] | None = None
        self._routes: dict[tuple[str, str], list[Route]] = {}
        self._dispatcher: Dispatcher | None = None
        self._fast_wake = threading.Event()
        self._fast_stop = threading.Event()
        self._fast_thread: threading.Thread | None = None

    @classmethod
    def open(cls, config: HubConfig, *, url: str | None = None) -> Hub:
        store = Store.open(url or database_url(config.database_url))
        hub = cls(config, store)
        hub.sync_parks()
        return hub

    def close(self) -> None:
        self.stop_fast_lane()
        for adapter in self._adapters.values():
            adapter.close()
        for runtime in (self._platforms or {}).values():
            runtime.platform.close()
        if self._dispatcher is not None:
            self._dispatcher.close()
        self.store.close()

    # -- wiring -------------------------------------------------------------------------------

    def adapter(self, source: str) -> VendorAdapter[Any]:
        if source not in self._adapters:
            if source.startswith(ENTRY_PREFIX):  # operator entry: one per park, no config
                park = self.config.park(source.removeprefix(ENTRY_PREFIX))
                self._adapters[source] = ManualAdapter(
                    SourceContext(source, park.id), ManualConfig()
                )
            else:
                sc = self.config.source(source)
                cls, cfg = vendor_config(sc)
                self._adapters[source] = cls(SourceContext(sc.name, sc.park), cfg, http=self._http)
        return self._adapters[source]

    # -- operator entry -----------------------------------------------------------------------

    def import_entry(
        self,
        path_or_bytes: str | Path | bytes,
        park_id: str | None = None,
        *,
        filename: str | None = None,
        stream: str | None = None,
        period: str | None = None,
        actor: str = "cli",
        allow_move: bool = False,
    ) -> IngestResult:
        """Import an operator's workbook or CSV. The same file twice stores nothing new, but
        its row problems are reported again.

        Enterprises and their figures are keyed by credit code across parks, so a file naming
        another park's enterprise would move it (and its figures) to this park: such a file is
        refused whole with ForeignRecordsError, unless `allow_move` (an enterprise that really
        moved in, confirmed by an administrator; audited).
        """
        if isinstance(path_or_bytes, bytes):
            body, name = path_or_bytes, filename
        else:
            path = Path(path_or_bytes)
            body, name = path.read_bytes(), filename or path.name
        meta = read_metadata(body)
        only = self.config.parks[0].id if len(self.config.parks) == 1 else None
        park_id = park_id or meta.get("park_id") or only
        if park_id is None:
            raise ConfigError(
                "请用 --park 指定园区 (name the park: the file is not a parkhub template)"
            )
        self.config.park(park_id)
        source = f"{ENTRY_PREFIX}{park_id}"
        adapter = self.adapter(source)
        raw_meta: dict[str, Any] = {"filename": name, "actor": actor}
        if period:
            raw_meta["period"] = period
        raw = RawMessage(
            source,
            stream or meta.get("kind") or "auto",
            body,
            content_type_for(name or ""),
            meta=raw_meta,
        )
        parsed = adapter.parse_message(raw)  # parsed once: the check, the import, a repeat
        foreign = self.foreign_records(park_id, parsed.records)
        if foreign and not allow_move:
            raise ForeignRecordsError(park_id, foreign)
        result = self.ingest(adapter, raw, parsed=parsed)
        if result.duplicate:  # stored before: show the operator the file's problems again
            result.errors, result.warnings = parsed.errors, parsed.warnings
            result.unchanged = len(parsed.records)
        with self.store.begin() as conn:
            self.store.audit(
                conn,
                actor,
                "entry_import",
                {
                    "raw_id": result.raw_id,
                    "park_id": park_id,
                    "filename": name,
                    "duplicate": result.duplicate,
                    "new": result.new,
                    "changed": result.changed,
                    "errors": len(result.errors),
                    "moved": [f"{e.record} <- {e.reason}" for e in foreign] or None,
                },
            )
        return result

    def foreign_records(self, park_id: str, records: Iterable[Record]) -> list[InputError]:
        """Which of `records` are stored for another park (for monthly figures: whose
        enterprise is on another park's roster), each naming the park that holds it."""
        recs = list(records)
        wanted: dict[str, set[str]] = {}
        for rec in recs:
            wanted.setdefault(rec.kind, set()).add(rec.key)
            if rec.kind == MONTHLY:
                wanted.setdefault("enterprise", set()).add(rec.key.partition("|")[0])
        parks = {kind: self.store.parks_of(kind, keys) for kind, keys in wanted.items()}
        out = []
        for rec in recs:
            owners = [parks[rec.kind].get(rec.key)]
            if rec.kind == MONTHLY:
                owners.append(parks["enterprise"].get(rec.key.partition("|")[0]))
            other = next((o for o in owners if o is not None and o != park_id), None)
            if other is not None:
                out.append(
                    InputError(
                        f"{ENTRY_PREFIX}{park_id}",
                        f"{rec.kind}#{rec.key}",
                        "统一社会信用代码",
                        f"属于园区 {other} (stored for park {other})",
                    )
                )
        return out

    def entry_template(self, park_id: str, period: str, *, kind: str = MONTHLY) -> bytes:
        """The Excel entry template of a park, prefilled with its enterprises and stored data."""
        park = self.config.park(park_id)
        enterprises = self.store.records_of("enterprise", park_id=park_id)
        values = (
            list(self.store.iter_docs(MONTHLY, park_id=park_id, key_suffix=f"|{period}"))
            if kind == MONTHLY
            else []
        )
        return template_bytes(park, period, enterprises, kind=kind, values=values)

    def platforms(self) -> dict[str, PlatformRuntime]:
        if self._platforms is None:
            runtimes = {}
            for pc in self.config.platforms:
                if pc.enabled:
                    runtimes[pc.name] = self._runtime(pc)
            self._platforms = runtimes
        return self._platforms

    def _runtime(self, pc: PlatformConfig) -> PlatformRuntime:
        cls, cfg = platform_config(pc)
        reports = {s.report: cls.reports[s.report] for s in pc.subscriptions()}
        for spec in reports.values():
            load_mapping(spec.mapping)  # a broken spec fails at start, not at send time
        r = pc.retry
        return PlatformRuntime(
            pc.name,
            cls(cfg, http=self._http),
            RetrySettings(
                r.short_retries,
                r.short_wait_seconds,
                r.base_seconds,
                r.max_backoff_seconds,
                r.max_attempts,
            ),
            reports,
        )

    def routes(self, kind: str, park_id: str) -> list[Route]:
        """Which platform reports take records of `kind` from `park_id`."""
        key = (kind, park_id)
        if key not in self._routes:
            found = []
            for pc in self.config.platforms:
                if not pc.enabled:
                    continue
                cls, _ = platform_config(pc)
                for sub in pc.subscriptions():
                    spec = cls.reports[sub.report]
                    if spec.record_kind != kind or (sub.parks and park_id not in sub.parks):
                        continue
                    version = load_mapping(spec.mapping).version
                    accepts = spec.accepts if spec.when is not None else None
                    found.append(Route(pc.name, sub.report, version, spec.priority, accepts))
            self._routes[key] = found
        return self._routes[key]

    # -- ingest -------------------------------------------------------------------------------

    def sync_parks(self) -> None:
        """Store the configured parks as records (they feed reports like any other record)."""
        parks = [p.record() for p in self.config.parks]
        with self.store.begin() as conn:
            self.store.upsert_records(
                conn, parks, source=CONFIG_SOURCE, raw_id=None, routes=self.routes
            )

    def ingest(
        self,
        adapter: VendorAdapter[Any],
        raw: RawMessage,
        *,
        cursor: tuple[str, str | None] | None = None,
        parsed: ParseResult | None = None,
    ) -> IngestResult:
        """Keep `raw`, parse it, store its records and deliveries (and move the cursor) at once.

        `parsed`: `raw` parsed by `adapter` already (it is not parsed again).
        """
        with self.store.begin() as conn:
            result = self._ingest_in(conn, adapter, raw, cursor, parsed)
        self._announce(result)
        return result

    def _ingest_in(
        self,
        conn: Any,
        adapter: VendorAdapter[Any],
        raw: RawMessage,
        cursor: tuple[str, str | None] | None,
        parsed: ParseResult | None,
    ) -> IngestResult:
        raw_id, new = self.store.insert_raw(
            conn,
            source=raw.source,
            stream=raw.stream,
            body=raw.body,
            content_type=raw.content_type,
            received_at=raw.received_at,
            meta=dict(raw.meta) or None,
        )
        result = IngestResult(raw_id, duplicate=not new)
        if new:
            self._parse_into(conn, adapter, raw, raw_id, result, parsed)
        if cursor is not None:
            self.store.set_cursor(conn, raw.source, cursor[0], cursor[1])
        return result

    def ingest_many(
        self,
        adapter: VendorAdapter[Any],
        messages: Iterable[tuple[RawMessage, tuple[str, str | None] | None]],
    ) -> Iterator[IngestResult]:
        """`ingest` for a stream of (message, cursor), as a pull yields them; one result each,
        once its transaction is committed.

        Each message is parsed outside any transaction. On PostgreSQL the next message is
        parsed while the server stores this one (parkhub.store.pipeline); on SQLite messages
        that arrive back to back are stored several to a transaction (_Grouped). Either way a
        message keeps its raw row, records, outbox rows and cursor together, and when the
        source fails, what it gave before is stored before the error goes on.
        """
        with ExitStack() as stack:
            sink: _Grouped | _Pipelined
            if self.store.dialect == "postgresql":
                writer = stack.enter_context(self.store.pipelined_writer(self.routes))
                sink = _Pipelined(self, writer)
            else:
                sink = _Grouped(self, adapter)
            pulled = iter(messages)
            while True:
                try:
                    raw, cursor = next(pulled)
                except StopIteration:
                    break
                except BaseException:  # the source failed: what it gave before is stored
                    yield from sink.finish()
                    raise
                yield from sink.send(raw, cursor, adapter.parse_message(raw))
            yield from sink.finish()

    def _store_group(
        self,
        adapter: VendorAdapter[Any],
        group: list[Pulled],
    ) -> Iterator[IngestResult]:
        """Store parsed messages in one transaction, each with its raw row and cursor, in order;
        their results once it committed."""
        if len(group) > 1:
            try:
                with self.store.begin() as conn:
                    results = [
                        self._ingest_in(conn, adapter, raw, cursor, parsed)
                        for raw, cursor, parsed in group
                    ]
            except Exception:
                # a page the database refused: the pages go one by one, so that those before
                # it are kept and reported, and the error is raised at the page it belongs to
                log.warning("a group of %d pages failed; storing them one by one", len(group))
            else:
                for result in results:
                    self._announce(result)
                    yield result
                return
        for raw, cursor, parsed in group:
            yield self.ingest(adapter, raw, cursor=cursor, parsed=parsed)

    def _written(self, done: list[tuple[ParseResult, Written]]) -> Iterator[IngestResult]:
        for parsed, w in done:
            result = IngestResult(w.raw_id, duplicate=w.duplicate)
            if not w.duplicate:
                self._fill(result, parsed, w.status, w)
                self._announce(result)
            yield result

    def _parse_into(
        self,
        conn: Any,
        adapter: VendorAdapter[Any],
        raw: RawMessage,
        raw_id: int,
        result: IngestResult,
        parsed: ParseResult | None = None,
    ) -> None:
        parsed = parsed or adapter.parse_message(raw)
        up = self.store.upsert_records(
            conn, parsed.records, source=raw.source, raw_id=raw_id, routes=self.routes
        )
        status = self.store.finish_raw(
            conn, raw_id, records=len(parsed.records), errors=parsed.errors
        )
        self._fill(result, parsed, status, up)

    @staticmethod
    def _fill(
        result: IngestResult, parsed: ParseResult, status: str, up: UpsertResult | Written
    ) -> None:
        """What a stored message became (inside its transaction: no side effects here)."""
        result.status = status
        result.new, result.changed, result.unchanged = up.new, up.changed, up.unchanged
        result.deliveries = up.deliveries
        result.errors, result.warnings = parsed.errors, parsed.warnings

    def _announce(self, result: IngestResult) -> None:
        """Once a message's transaction committed: wake the fast lane, log refused records
        (once each, also when a refused group was stored again page by page)."""
        self._woke(result.deliveries)
        for err in result.errors:
            log.warning("rejected record: %s", err)

    def sync(self, source: str | None = None) -> list[SyncResult]:
        """Pull every enabled source (or one) from its saved cursors."""
        names = (
            [source]
            if source
            else [s.name for s in self.config.sources if s.enabled and s.schedule is not None]
        )
        results = []
        for name in names:
            sc = self.config.source(name)
            adapter = self.adapter(name)
            result = SyncResult(name)
            try:
                for stream in sc.streams or adapter.streams:
                    cursor = self.store.get_cursor(name, stream)
                    pages = (
                        (batch.message, (stream, batch.next_cursor))
                        for batch in adapter.pull(stream, cursor)
                    )
                    for ingested in self.ingest_many(adapter, pages):
                        result.add(ingested)
            except SourceError as exc:
                result.failure = str(exc)
                log.error("sync %s failed: %s", name, exc)
            results.append(result)
        return results

    def receive_push(
        self, source: str, request: PushRequest
    ) -> tuple[PushVerdict, IngestResult | None]:
        """Verify a push; store it raw with its records and outbox rows in one transaction that
        commits before the caller answers.

        A refused push is kept too, as rejected with its reason, and never parsed.
        """
        adapter = self.adapter(source)
        try:
            verdict = adapter.verify_push(request)
        except Exception as exc:  # a verifier bug must not lose the message
            log.exception("verify_push failed for %s", source)
            verdict = PushVerdict(False, 400, f"无法校验 (cannot verify: {type(exc).__name__})")
        meta = {"client_ip": request.client_ip, "path": request.path}
        if not verdict.accept or not verdict.store:
            if not verdict.accept:
                with self.store.begin() as conn:
                    self.store.insert_raw(
                        conn,
                        source=source,
                        stream="rejected",
                        body=request.body,
                        status="rejected",
                        reason=verdict.reason,
                        meta=meta,
                        content_type=request.headers.get(
                            "content-type", "application/octet-stream"
                        ),
                    )
            return verdict, None
        raw = RawMessage(
            source,
            verdict.stream,
            request.body,
            request.headers.get("content-type", "application/json"),
            meta=meta,
        )
        # Raw message, records and outbox rows in one transaction: the 200 answer waits for the
        # commit, so an error anywhere means no answer and the platform sends it again.
        result = self.ingest(adapter, raw)
        return verdict, result

    def receive_raw(
        self,
        source: str,
        body: bytes,
        *,
        stream: str,
        content_type: str = "application/octet-stream",
        rejected_reason: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> IngestResult:
        """A message from a listener (e.g. an HJ 212 frame): committed to the inbox first (the
        caller answers the device only after this returns), then parsed."""
        adapter = self.adapter(source)
        with self.store.begin() as conn:
            raw_id, new = self.store.insert_raw(
                conn,
                source=source,
                stream=stream,
                body=body,
                content_type=content_type,
                status="rejected" if rejected_reason else "received",
                reason=rejected_reason,
                meta=meta,
            )
        result = IngestResult(
            raw_id, duplicate=not new, status="rejected" if rejected_reason else "received"
        )
        if new and rejected_reason is None:
            raw = RawMessage(source, stream, body, content_type, raw_id=raw_id, meta=meta or {})
            with self.store.begin() as conn:
                self._parse_into(conn, adapter, raw, raw_id, result)
            self._announce(result)
        return result

    def reparse(
        self,
        *,
        source: str | None = None,
        ids: Sequence[int] | None = None,
        statuses: Sequence[str] = ("rejected", "partial"),
        older_than: dt.timedelta | None = None,
        actor: str = "cli",
    ) -> list[IngestResult]:
        """Parse kept raw messages again (after an adapter or data fix); idempotent."""
        rows = self.store.raw_messages(source=source, ids=ids, statuses=statuses)
        cutoff = utcnow() - older_than if older_than is not None else None
        results = []
        for row in rows:
            if row["stream"] == "rejected":
                continue  # refused at the door (forged, unsigned): not data
            if cutoff is not None and row["received_at"] > cutoff:
                continue
            try:
                adapter = self.adapter(row["source"])
            except ConfigError:
                continue
            raw = RawMessage(
                row["source"],
                row["stream"],
                row["body"],
                row["content_type"],
                row["received_at"],
                row["id"],
                jsonutil.loads(row["meta"]) if row["meta"] else {},
            )
            result = IngestResult(row["id"])
            with self.store.begin() as conn:
                self._parse_into(conn, adapter, raw, row["id"], result)
                self.store.audit(
                    conn, actor, "reparse", {"raw_id": row["id"], "status": result.status}
                )
            self._announce(result)
            results.append(result)
        return results

    def recover_inbox(self) -> list[IngestResult]:
        """Parse pushes committed to the inbox whose parse never ran (the process died between
        the two transactions). Run at start and periodically by `parkhub run`."""
        return self.reparse(
            statuses=("received",), older_than=dt.timedelta(seconds=10), actor="recover"
        )

    def ingest_records(self, records: Iterable[Record], *, source: str) -> IngestResult:
        """Store records built inside parkhub (reports, operator entry)."""
        recs = list(records)
        with self.store.begin() as conn:
            up = self.store.upsert_records(
                conn, recs, source=source, raw_id=None, routes=self.routes
            )
        self._woke(up.deliveries)
        return IngestResult(
            0, new=up.new, changed=up.changed, unchanged=up.unchanged, deliveries=up.deliveries
        )

    # -- reports ------------------------------------------------------------------------------

    def build_reports(
        self, period: str, *, park: str | None = None
    ) -> list[tuple[MonthlyInputs, IngestResult]]:
        """Build each park's monthly report for `period` (YYYY-MM) and queue it for delivery."""
        out = []
        for pc in self.config.parks:
            if park and pc.id != park:
                continue
            doc = pc.record().document()
            inputs = build_park_monthly(self.store, doc, period)
            out.append((inputs, self.ingest_records([inputs.report], source=REPORT_SOURCE)))
        return out

    # -- dispatch -----------------------------------------------------------------------------

    def dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            d = self.config.dispatch
            self._dispatcher = Dispatcher(
                self.store,
                self.platforms(),
                batch_size=d.batch_size,
                lease_seconds=d.lease_seconds,
                concurrency=d.concurrency,
            )
        return self._dispatcher

    def dispatch(
        self, *, until_idle: bool = True, platforms: Sequence[str] | None = None
    ) -> DispatchStats:
        dispatcher = self.dispatcher()
        if until_idle:
            return dispatcher.run_until_idle(platforms=platforms)
        return dispatcher.run_once(platforms=platforms)

    # -- calendar -----------------------------------------------------------------------------

    def subscriptions(self) -> list[tuple[PlatformConfig, Subscription, ReportSpec, str]]:
        """(platform, subscription, report spec, cadence) for every enabled subscription."""
        out = []
        for pc in self.config.platforms:
            if not pc.enabled:
                continue
            cls, _ = platform_config(pc)
            for sub in pc.subscriptions():
                spec = cls.reports[sub.report]
                cadence = sub.cadence or PERIODIC_KINDS.get(spec.record_kind, "realtime")
                out.append((pc, sub, spec, cadence))
        return out

    def calendar(
        self, *, park_id: str | None = None, now: dt.datetime | None = None
    ) -> list[CalendarEntry]:
        """Next deadlines per park (or of one park) and periodic platform report, and what is
        still missing."""
        now = now or utcnow()
        period = previous_period(now)
        entries = []
        for park in self.config.parks:
            if park_id is not None and park.id != park_id:
                continue
            doc = park.record().document()
            inputs = None  # the park's monthly inputs: one build serves all its reports
            for pc, sub, spec, cadence in self.subscriptions():
                if cadence not in ("monthly", "quarterly"):
                    continue
                if sub.parks and park.id not in sub.parks:
                    continue
                inputs = inputs or build_park_monthly(self.store, doc, period)
                entries.append(
                    entry_for(
                        self.store,
                        doc,
                        pc.name,
                        sub.report,
                        spec.record_kind,
                        cadence,
                        sub.deadline_day,
                        now=now,
                        inputs=inputs,
                    )
                )
        return entries

    def rebuild_until_deadline(self, *, now: dt.datetime | None = None) -> None:
        """Rebuild last period's reports while any monthly deadline is still ahead, so data
        that arrives late goes out as a correction rather than never."""
        now = now or utcnow()
        period = previous_period(now)
        days = [
            sub.deadline_day
            for _, sub, _, cadence in self.subscriptions()
            if cadence in ("monthly", "quarterly")
        ]
        if days and now <= deadline_for(period, "monthly", max(days)):
            self.build_reports(period)

    # -- the fast lane ------------------------------------------------------------------------

    def start_fast_lane(self, *, max_priority: int = 0) -> threading.Thread:
        """Send priority deliveries (fire alarms) as soon as they are stored, not at the next
        dispatch tick: every ingest wakes this thread."""
        self._fast_stop.clear()

        def loop() -> None:
            while not self._fast_stop.is_set():
                self._fast_wake.wait(timeout=1.0)
                self._fast_wake.clear()
                if self._fast_stop.is_set():
                    break
                try:
                    self.dispatcher().run_until_idle(max_priority=max_priority)
                except Exception:
                    log.exception("fast lane dispatch failed")

        thread = threading.Thread(target=loop, daemon=True, name="fast-lane")
        thread.start()
        self._fast_thread = thread
        return thread

    def stop_fast_lane(self) -> None:
        self._fast_stop.set()
        self._fast_wake.set()
        if self._fast_thread is not None:
            self._fast_thread.join(timeout=10)
            self._fast_thread = None

    def _woke(self, deliveries: int) -> None:
        if deliveries:
            self._fast_wake.set()

    # -- status -------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        counts = self.store.status_counts()
        # configured platforms first; ones removed from config still show while they have rows
        names = [pc.name for pc in self.config.platforms] + sorted(counts)
        platforms: dict[str, dict[str, Any]] = {}
        for name in dict.fromkeys(names):
            platforms[name] = status_summary(counts.get(name, {}))
        rejected = self.store.raw_messages(statuses=("rejected", "partial"), limit=50)
        calendar = [e.as_dict() for e in self.calendar()]
        return {
            "platforms": platforms,
            "records": self.store.count_records(),
            "inbox_problems": [
                {
                    "raw_id": r["id"],
                    "source": r["source"],
                    "stream": r["stream"],
                    "status": r["status"],
                    "reason": r["reason"],
                }
                for r in rejected
            ],
            "calendar": calendar,
            "late": [e for e in calendar if e["state"] in ("late", "at_risk", "failed")],
            "generated_at": utcnow().isoformat(),
        }

    def replay(self, *, actor: str = "cli", **filters: Any) -> int:
        return self.store.replay(actor=actor, **filters)


def record_errors(errors: Iterable[InputError]) -> list[dict[str, str | None]]:
    return [e.as_dict() for e in errors]


def hub_jobs(hub: Hub) -> list[Job]:
    """The scheduled work of `parkhub run`, from the config's schedules."""
    jobs: list[Job] = []
    for sc in hub.config.sources:
        if sc.enabled and sc.schedule is not None:
            jobs.append(
                Job(
                    f"sync:{sc.name}",
                    partial(hub.sync, sc.name),
                    sc.schedule.every_seconds,
                    sc.schedule.cron,
                )
            )
    d = hub.config.dispatch.schedule
    jobs.append(Job("dispatch", partial(hub.dispatch), d.every_seconds, d.cron, exclusive=False))
    jobs.append(Job("inbox:recover", hub.recover_inbox, every_seconds=60))
    r = hub.config.reports.rebuild
    jobs.append(Job("reports:rebuild", hub.rebuild_until_deadline, r.every_seconds, r.cron))
    m = hub.config.reports.monthly
    jobs.append(
        Job(
            "reports:monthly", lambda: hub.build_reports(previous_period()), m.every_seconds, m.cron
        )
    )
    if hub.config.alerts.enabled and hub.config.alerts.parks:
        from parkhub.alerts import check_alerts

        jobs.append(Job("alerts", partial(check_alerts, hub), every_seconds=60))
    return jobs


Pulled = tuple[RawMessage, tuple[str, str | None] | None, ParseResult]


class _Grouped:
    """SQLite: the messages a pull yields back to back, stored several to a transaction.

    The transaction is opened only once GROUP_RECORDS records or GROUP_SECONDS have gathered
    (or the pull ends), so no network wait ever holds the write lock (Hub._store_group). Time
    is looked at as each message arrives: a message waits at most for the next one's fetch
    (bounded by the source's timeout) and GROUP_SECONDS. Nothing is lost meanwhile: its
    cursor is not committed either, so a crash pulls it again.
    """

    def __init__(self, hub: Hub, adapter: VendorAdapter[Any]) -> None:
        self._hub, self._adapter = hub, adapter
        self._group: list[Pulled] = []
        self._size, self._since = 0, 0.0

    def send(
        self, raw: RawMessage, cursor: tuple[str, str | None] | None, parsed: ParseResult
    ) -> Iterator[IngestResult]:
        if not self._group:
            self._since = time.monotonic()
        self._group.append((raw, cursor, parsed))
        self._size += len(parsed.records) + 1
        if self._size >= GROUP_RECORDS or time.monotonic() - self._since >= GROUP_SECONDS:
            return self.finish()
        return iter(())

    def finish(self) -> Iterator[IngestResult]:
        group, self._group, self._size = self._group, [], 0
        return self._hub._store_group(self._adapter, group) if group else iter(())


class _Pipelined:
    """PostgreSQL: each message's transaction sent down the pipeline; results as they commit."""

    def __init__(self, hub: Hub, writer: PipelinedWriter[ParseResult]) -> None:
        self._hub, self._writer = hub, writer

    def send(
        self, raw: RawMessage, cursor: tuple[str, str | None] | None, parsed: ParseResult
    ) -> Iterator[IngestResult]:
        done = self._writer.send(raw, parsed.records, parsed.errors, cursor=cursor, tag=parsed)
        return self._hub._written(done)

    def finish(self) -> Iterator[IngestResult]:
        return self._hub._written(self._writer.finish())
