"""The facade that the CLI, the web app and the scheduler call: it opens the parts of the hub,
wires them together and delegates. It holds no logic of its own.

    ingest (parkhub.ingest)      pull, push, listener, operator entry -> raw inbox -> records
    reports (parkhub.reports)    period reports, the calendar, the status overview
    dispatch (parkhub.scheduler) outbox -> mapping -> platform, the fast lane, scheduled jobs
    store (parkhub.store)        the only door to the database
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from parkhub.adapters.vendors.base import (
    ParseResult,
    PushRequest,
    PushVerdict,
    RawMessage,
    VendorAdapter,
)
from parkhub.alerts import Alerts
from parkhub.canonical import Record
from parkhub.config import HubConfig
from parkhub.ingest import IngestResult, IngestService, Sources, SyncResult, route_table
from parkhub.ingest.entry import OperatorEntry
from parkhub.ingest.pull import sync
from parkhub.ingest.push import receive_push, receive_raw
from parkhub.ingest.quality import QualityGate
from parkhub.ingest.refused import Refusal, RefusedPushes
from parkhub.ingest.review import Reviewing
from parkhub.ingest.service import Pulled
from parkhub.ingest.survivorship import Survivorship
from parkhub.reports.calendar import CalendarEntry
from parkhub.reports.mu_average import Evaluation
from parkhub.reports.park_monthly import MonthlyInputs
from parkhub.reports.service import Reports
from parkhub.reports.status import status
from parkhub.scheduler.dispatcher import Dispatcher, DispatchStats
from parkhub.scheduler.fastlane import FastLane
from parkhub.scheduler.platforms import PlatformRuntime, runtimes
from parkhub.scheduler.service import Job
from parkhub.store import Store, database_url

CONFIG_SOURCE = "parkhub.config"


class Hub:
    def __init__(
        self, config: HubConfig, store: Store, *, http: httpx.Client | None = None
    ) -> None:
        self.config = config
        self.store = store
        self._http = http
        self.sources = Sources(config, http=http)
        self.fast_lane = FastLane(self.dispatcher)
        self.ingestion = IngestService(
            store,
            route_table(config),
            self.sources.adapter,
            on_queued=self.fast_lane.wake,
            survivorship=Survivorship(store, config),
            quality=QualityGate(store, config),
        )
        self.entry = OperatorEntry(self.ingestion, config)
        self.refused = RefusedPushes(config.limits.push)
        self.review = Reviewing(self.ingestion)
        self.reports = Reports(store, config, self.ingestion)
        self.alerts = Alerts(store, config, self.reports)
        self._platforms: dict[str, PlatformRuntime] | None = None
        self._dispatcher: Dispatcher | None = None

    @classmethod
    def open(cls, config: HubConfig, *, url: str | None = None) -> Hub:
        hub = cls(config, Store.open(url or database_url(config.database_url)))
        # the configured parks are records too: they feed reports like any other record
        hub.ingestion.ingest_records([p.record() for p in config.parks], source=CONFIG_SOURCE)
        return hub

    def close(self) -> None:
        self.fast_lane.stop()
        self.sources.close()
        for runtime in (self._platforms or {}).values():
            runtime.platform.close()
        if self._dispatcher is not None:
            self._dispatcher.close()
        self.store.close()

    # -- in -----------------------------------------------------------------------------------

    def adapter(self, source: str) -> VendorAdapter[Any]:
        return self.sources.adapter(source)

    def sync(self, source: str | None = None) -> list[SyncResult]:
        """Pull every enabled source (or one) from its saved cursors."""
        return sync(self.ingestion, self.config, source)

    def ingest(
        self,
        adapter: VendorAdapter[Any],
        raw: RawMessage,
        *,
        cursor: tuple[str, str | None] | None = None,
        parsed: ParseResult | None = None,
    ) -> IngestResult:
        return self.ingestion.ingest(adapter, raw, cursor=cursor, parsed=parsed)

    def ingest_many(
        self, adapter: VendorAdapter[Any], messages: Iterable[Pulled]
    ) -> Iterator[IngestResult]:
        return self.ingestion.ingest_many(adapter, messages)

    def ingest_records(self, records: Iterable[Record], *, source: str) -> IngestResult:
        return self.ingestion.ingest_records(records, source=source)

    def receive_push(
        self, source: str, request: PushRequest
    ) -> tuple[PushVerdict, IngestResult | None]:
        return receive_push(self.ingestion, self.refused, source, request)

    def refuse_push(self, refusal: Refusal) -> bool:
        """Keep a bounded record of a push the receiver refused itself (too large, too slow)."""
        return self.refused.keep(self.store, refusal)

    def receive_raw(self, source: str, body: bytes, **kw: Any) -> IngestResult:
        return receive_raw(self.ingestion, self.refused, source, body, **kw)

    def reparse(self, **kw: Any) -> list[IngestResult]:
        return self.ingestion.reparse(**kw)

    def recover_inbox(self) -> list[IngestResult]:
        return self.ingestion.recover_inbox()

    def import_entry(
        self, path_or_bytes: str | Path | bytes, park_id: str | None = None, **kw: Any
    ) -> IngestResult:
        return self.entry.import_file(path_or_bytes, park_id, **kw)

    def entry_template(self, park_id: str, period: str, **kw: Any) -> bytes:
        return self.entry.template(park_id, period, **kw)

    # -- reports ------------------------------------------------------------------------------

    def build_reports(
        self, period: str, *, park: str | None = None, allow_empty: bool = False
    ) -> list[tuple[MonthlyInputs, IngestResult | None]]:
        return self.reports.build(period, park=park, allow_empty=allow_empty)

    def evaluate(self, park: str, **kw: Any) -> Evaluation:
        return self.reports.evaluate(park, **kw)

    def build_annual_reports(
        self, year: int, *, park: str | None = None
    ) -> list[tuple[Evaluation, IngestResult]]:
        return self.reports.build_annual(year, park=park)

    def calendar(
        self, *, park_id: str | None = None, now: dt.datetime | None = None
    ) -> list[CalendarEntry]:
        return self.reports.calendar(park_id=park_id, now=now)

    def rebuild_until_deadline(self, *, now: dt.datetime | None = None) -> None:
        self.reports.rebuild_until_deadline(now=now)

    def status(self) -> dict[str, Any]:
        return status(self.store, self.config, self.reports)

    # -- out ----------------------------------------------------------------------------------

    def platforms(self) -> dict[str, PlatformRuntime]:
        if self._platforms is None:
            self._platforms = runtimes(self.config, http=self._http)
        return self._platforms

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
        if until_idle:
            return self.dispatcher().run_until_idle(platforms=platforms)
        return self.dispatcher().run_once(platforms=platforms)

    def replay(self, *, actor: str = "cli", **filters: Any) -> int:
        return self.store.outbox.replay(actor=actor, **filters)

    def start_fast_lane(self, *, max_priority: int = 0) -> None:
        self.fast_lane.start(max_priority=max_priority)

    def stop_fast_lane(self) -> None:
        self.fast_lane.stop()

    def jobs(self) -> list[Job]:
        """The scheduled work of `parkhub run`, from the config's schedules."""
        cfg = self.config
        jobs = [
            Job.on(f"sync:{sc.name}", partial(self.sync, sc.name), sc.schedule)
            for sc in cfg.sources
            if sc.enabled and sc.schedule is not None
        ]
        jobs.append(Job.on("dispatch", self.dispatch, cfg.dispatch.schedule, exclusive=False))
        jobs.append(Job("inbox:recover", self.recover_inbox, every_seconds=60))
        jobs.append(Job.on("reports:rebuild", self.rebuild_until_deadline, cfg.reports.rebuild))
        monthly = partial(self.reports.build_last_period)
        jobs.append(Job.on("reports:monthly", monthly, cfg.reports.monthly))
        jobs.append(Job.on("reports:annual", self.reports.build_last_year, cfg.reports.annual))
        if cfg.alerts.enabled and cfg.alerts.parks:
            jobs.append(Job("alerts", self.alerts.check, every_seconds=60))
        return jobs
