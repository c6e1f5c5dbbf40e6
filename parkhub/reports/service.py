"""Reports on schedule: each park's monthly report built at period end and queued like any
other record, rebuilt while deadlines are ahead (late data goes out as a correction), the
park's annual 亩均 report of last year, and the reporting calendar of every periodic
subscription."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from parkhub.canonical.timeutil import SHANGHAI, previous_period, utcnow
from parkhub.config import HubConfig, ParkConfig, subscriptions
from parkhub.ingest import IngestResult, IngestService
from parkhub.store import Store

from .calendar import CalendarEntry, deadline_for, entry_for
from .mu_average import Evaluation, evaluate, park_annual
from .park_monthly import MonthlyInputs, build_park_monthly

REPORT_SOURCE = "parkhub.reports"
HELD_EMPTY = (
    "园区还没有入园企业，园区月报暂不报送：请先导入企业名录 (no enterprises in the park yet: the "
    "monthly report is held, not sent; import the enterprise roster first)"
)
log = logging.getLogger("parkhub.reports")


def preview(store: Store, park: ParkConfig, period: str) -> MonthlyInputs:
    """The park's monthly report of `period` as it would be built now: nothing is stored."""
    return build_park_monthly(store, park.record().document(), period)


class Reports:
    def __init__(self, store: Store, config: HubConfig, ingest: IngestService) -> None:
        self.store = store
        self.config = config
        self.ingest = ingest

    def _parks(self, park_id: str | None) -> list[ParkConfig]:
        return [p for p in self.config.parks if park_id is None or p.id == park_id]

    def build(
        self, period: str, *, park: str | None = None, allow_empty: bool = False
    ) -> list[tuple[MonthlyInputs, IngestResult | None]]:
        """Build each park's monthly report for `period` (YYYY-MM) and queue it for delivery.

        A park with no enterprises is held, not queued (its result None, `inputs.held` says
        why): an empty 园区月报 would tell the province the park is empty. `allow_empty`
        queues it anyway (a park whose enterprises all left)."""
        out: list[tuple[MonthlyInputs, IngestResult | None]] = []
        for pc in self._parks(park):
            inputs = preview(self.store, pc, period)
            if inputs.report.enterprise_count == 0 and not allow_empty:
                inputs.held = HELD_EMPTY
                log.warning("%s %s: %s", pc.id, period, HELD_EMPTY)
                out.append((inputs, None))
                continue
            out.append((inputs, self.ingest.ingest_records([inputs.report], source=REPORT_SOURCE)))
        return out

    def build_last_period(self) -> list[tuple[MonthlyInputs, IngestResult | None]]:
        """The monthly job: last month's reports of every park."""
        return self.build(previous_period())

    def evaluate(self, park: str, **kw: Any) -> Evaluation:
        """The 亩均 evaluation of one park (see parkhub.reports.mu_average.evaluate)."""
        return evaluate(self.store, self.config, park, **kw)

    def build_annual(
        self, year: int, *, park: str | None = None
    ) -> list[tuple[Evaluation, IngestResult]]:
        """Each park's annual 亩均 report of `year`, queued like any record."""
        out = []
        for pc in self._parks(park):
            ev = self.evaluate(pc.id, year=year)
            report = park_annual(ev, pc.land_area_m2)
            out.append((ev, self.ingest.ingest_records([report], source=REPORT_SOURCE)))
        return out

    def build_last_year(self) -> list[tuple[Evaluation, IngestResult]]:
        """The annual job: last year's annual reports of every park."""
        return self.build_annual(utcnow().astimezone(SHANGHAI).year - 1)

    def calendar(
        self, *, park_id: str | None = None, now: dt.datetime | None = None
    ) -> list[CalendarEntry]:
        """Next deadlines per park (or of one park) and periodic platform report, and what is
        still missing."""
        now = now or utcnow()
        period = previous_period(now)
        periodic = [s for s in subscriptions(self.config) if s.periodic]
        entries = []
        for park in self._parks(park_id):
            doc = park.record().document()
            inputs = None  # the park's monthly inputs: one build serves all its reports
            for s in periodic:
                if not s.covers(park.id):
                    continue
                inputs = inputs or build_park_monthly(self.store, doc, period)
                entries.append(
                    entry_for(
                        self.store,
                        doc,
                        s.platform.name,
                        s.subscription.report,
                        s.spec.record_kind,
                        s.cadence,
                        s.subscription.deadline_day,
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
        days = [s.subscription.deadline_day for s in subscriptions(self.config) if s.periodic]
        if days and now <= deadline_for(period, "monthly", max(days)):
            self.build(period)
