"""The ingest service: raw messages in, canonical records and their deliveries stored.

Every message is kept in the raw inbox in the same transaction as what was made of it (records,
outbox rows, the source's cursor), and a message's result is reported only once that
transaction committed. Messages are parsed outside any transaction. What the store does per
dialect (grouped transactions on SQLite, a pipeline on PostgreSQL) is the writer's business.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from parkhub.adapters.vendors.base import ParseResult, RawMessage, VendorAdapter
from parkhub.canonical import Record, jsonutil
from parkhub.canonical.timeutil import utcnow
from parkhub.errors import ConfigError
from parkhub.store import PROBLEMS, Page, RawStatus, Review, RouteTable, Store, Written

from .quality import QualityGate
from .results import IngestResult
from .screening import Screen
from .survivorship import Memo, Survivorship

log = logging.getLogger("parkhub.ingest")

REFUSED_STREAM = "rejected"
"""The stream of a push refused at the door (forged, unsigned): kept, never parsed."""

Pulled = tuple[RawMessage, tuple[str, str | None] | None]
"""A message and the cursor to resume after it (None: a push, no cursor)."""
Tag = tuple[ParseResult, Review | None]
"""What comes back with a stored page: what parsing made of it, what the screen decided."""


class IngestService:
    def __init__(
        self,
        store: Store,
        routes: RouteTable,
        adapter: Callable[[str], VendorAdapter[Any]],
        *,
        on_queued: Callable[[], None] = lambda: None,
        survivorship: Survivorship | None = None,
        quality: QualityGate | None = None,
    ) -> None:
        self.store = store
        self.routes = routes
        self.adapter = adapter
        self._on_queued = on_queued
        self.screen = Screen(survivorship, quality)

    def ingest(
        self,
        adapter: VendorAdapter[Any],
        raw: RawMessage,
        *,
        cursor: tuple[str, str | None] | None = None,
        parsed: ParseResult | None = None,
    ) -> IngestResult:
        """Keep `raw`, and store its records and deliveries (and move the cursor) with it.

        `parsed`: `raw` parsed by `adapter` already (it is not parsed again).
        """
        parsed = parsed or adapter.parse_message(raw)
        with self.store.writer.pages(self.routes) as sink:
            [(tag, written)] = [*sink.send(self._page(raw, parsed, cursor)), *sink.finish()]
        return self._reported(tag, written)

    def _page(
        self,
        raw: RawMessage,
        parsed: ParseResult,
        cursor: tuple[str, str | None] | None,
        memo: Memo | None = None,
    ) -> Page[Tag]:
        """A parsed message as the writer takes it: its records screened (merged by
        precedence, checked by the quality rules)."""
        records, review = self.screen(parsed.records, raw.source, memo)
        return Page(raw, records, parsed.errors, cursor, (parsed, review), review)

    def ingest_many(
        self, adapter: VendorAdapter[Any], messages: Iterable[Pulled]
    ) -> Iterator[IngestResult]:
        """`ingest` for a stream of (message, cursor), as a pull yields them; one result each,
        once its transaction committed. When the source fails, what it gave before is stored
        before the error goes on."""
        memo: Memo = {}  # merged records of earlier pages, maybe not committed yet
        with self.store.writer.pages(self.routes) as sink:
            pulled = iter(messages)
            while True:
                try:
                    raw, cursor = next(pulled)
                except StopIteration:
                    break
                except BaseException:  # the source failed: what it gave before is stored
                    for tag, written in sink.finish():
                        yield self._reported(tag, written)
                    raise
                parsed = adapter.parse_message(raw)
                for done, written in sink.send(self._page(raw, parsed, cursor, memo)):
                    yield self._reported(done, written)
            for tag, written in sink.finish():
                yield self._reported(tag, written)

    def ingest_records(self, records: Iterable[Record], *, source: str) -> IngestResult:
        """Store records built inside parkhub (reports, the configured parks)."""
        with self.store.begin() as conn:
            up = self.store.writer.upsert(
                conn, list(records), source=source, raw_id=None, routes=self.routes
            )
        if up.deliveries:
            self._on_queued()
        return IngestResult.of(0, up, status=RawStatus.PARSED, errors=[], warnings=[])

    def store_parsed(
        self, raw: RawMessage, raw_id: int, parsed: ParseResult, *, actor: str | None = None
    ) -> IngestResult:
        """The records of a message kept before (a listener's frame, a reparse), in one
        transaction with the message's new status (and an audit entry, with `actor`)."""
        records, review = self.screen(parsed.records, raw.source)
        with self.store.begin() as conn:
            up = self.store.writer.upsert(
                conn, records, source=raw.source, raw_id=raw_id, routes=self.routes
            )
            if review:
                self.store.reviews.write(conn, raw_id, raw.source, review)
            status = self.store.inbox.finish(
                conn, raw_id, records=len(parsed.records), errors=parsed.errors
            )
            if actor is not None:
                self.store.audit.add(conn, actor, "reparse", {"raw_id": raw_id, "status": status})
        result = IngestResult.of(
            raw_id, up, status=status, errors=parsed.errors, warnings=parsed.warnings
        ).screened(review)
        self.announce(result)
        return result

    def reparse(
        self,
        *,
        source: str | None = None,
        ids: Sequence[int] | None = None,
        statuses: Sequence[str] = PROBLEMS,
        older_than: dt.timedelta | None = None,
        actor: str = "cli",
    ) -> list[IngestResult]:
        """Parse kept raw messages again (after an adapter or data fix); idempotent."""
        rows = self.store.inbox.messages(source=source, ids=ids, statuses=statuses)
        cutoff = utcnow() - older_than if older_than is not None else None
        results = []
        for row in rows:
            if row["stream"] == REFUSED_STREAM:
                continue  # refused at the door (forged, unsigned): not data
            if cutoff is not None and row["received_at"] > cutoff:
                continue
            try:
                adapter = self.adapter(row["source"])
            except ConfigError:
                continue  # a source no longer configured
            raw = RawMessage(
                row["source"],
                row["stream"],
                row["body"],
                row["content_type"],
                row["received_at"],
                row["id"],
                jsonutil.loads(row["meta"]) if row["meta"] else {},
            )
            parsed = adapter.parse_message(raw)
            results.append(self.store_parsed(raw, row["id"], parsed, actor=actor))
        return results

    def recover_inbox(self) -> list[IngestResult]:
        """Parse messages committed to the inbox whose parse never ran (the process died between
        the two transactions of a listener's frame). Run at start and periodically."""
        return self.reparse(
            statuses=(RawStatus.RECEIVED,), older_than=dt.timedelta(seconds=10), actor="recover"
        )

    def _reported(self, tag: Tag, written: Written) -> IngestResult:
        parsed, review = tag
        if written.duplicate:
            return IngestResult(written.raw_id, duplicate=True, status=written.status)
        result = IngestResult.of(
            written.raw_id,
            written,
            status=written.status,
            errors=parsed.errors,
            warnings=parsed.warnings,
        ).screened(review)
        self.announce(result)
        return result

    def announce_queued(self) -> None:
        """Deliveries were queued outside ingest (a reviewer's decision): wake the fast lane."""
        self._on_queued()

    def announce(self, result: IngestResult) -> None:
        """Once a message's transaction committed: wake the fast lane, log refused records
        (once each, also when a refused group was stored again page by page)."""
        if result.deliveries:
            self._on_queued()
        for err in result.errors:
            log.warning("rejected record: %s", err)
