"""The reporting calendar: per park and platform report, the next deadline and what is missing.

Monthly reports are due by the `deadline_day` of the following month (Beijing time); quarterly
ones by that day of the month after the quarter. Real-time and daily reports have no period
deadline: their backlog shows in `status` instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from parkhub.canonical.timeutil import SHANGHAI, as_utc, previous_period, utcnow
from parkhub.store import DeliveryStatus, Store

from .park_monthly import MonthlyInputs, build_park_monthly


class CalendarState(StrEnum):
    """How far a park's periodic report got before its deadline. One meaning whatever the
    report: its records are counted as `delivered`/`expected`, and the enterprises with data
    as `reporting`/`enterprises`, the same two numbers on every report of the park and period.

    - delivered: every record of the report was sent, and every enterprise had data;
    - delivered_incomplete: every record made was sent, but some enterprises had no data (they
      are `missing`; late data goes out as a correction until the deadline);
    - pending: records are waiting to be sent, the deadline is more than 3 days away;
    - not_built: nothing to send yet (no park report built, no enterprise's figures);
    - at_risk: not all sent, the deadline is within 3 days;
    - late: not all sent, the deadline has passed;
    - failed: a delivery of the report stopped retrying (dead): replay it.
    """

    DELIVERED = "delivered"
    DELIVERED_INCOMPLETE = "delivered_incomplete"
    PENDING = "pending"
    NOT_BUILT = "not_built"
    AT_RISK = "at_risk"
    LATE = "late"
    FAILED = "failed"


OVERDUE = (CalendarState.LATE, CalendarState.AT_RISK, CalendarState.FAILED)
"""States an operator must act on."""


@dataclass
class CalendarEntry:
    park_id: str
    platform: str
    report: str
    cadence: str
    period: str
    deadline: dt.datetime
    state: CalendarState
    expected: int = 0
    """Records of the report to send: 1 for a park report, one per enterprise with data."""
    delivered: int = 0
    enterprises: int = 0
    """Enterprises of the park in the period."""
    reporting: int = 0
    """... of which have figures for the period (the rest are `missing`)."""
    missing: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "park": self.park_id,
            "platform": self.platform,
            "report": self.report,
            "cadence": self.cadence,
            "period": self.period,
            "deadline": self.deadline.astimezone(SHANGHAI).isoformat(),
            "state": self.state,
            "expected": self.expected,
            "delivered": self.delivered,
            "enterprises": self.enterprises,
            "reporting": self.reporting,
            "missing": self.missing,
        }


def deadline_for(period: str, cadence: str, day: int) -> dt.datetime:
    """End of `day` in the month after the period (after the quarter for quarterly), UTC."""
    year, month = (int(p) for p in period.split("-"))
    if cadence == "quarterly":
        month = ((month - 1) // 3 + 1) * 3
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    local = dt.datetime(year, month, day, 23, 59, 59, tzinfo=SHANGHAI)
    return as_utc(local)


def entry_for(
    store: Store,
    park: dict[str, Any],
    platform: str,
    report: str,
    record_kind: str,
    cadence: str,
    deadline_day: int,
    *,
    now: dt.datetime | None = None,
    inputs: MonthlyInputs | None = None,
) -> CalendarEntry:
    """`inputs`: the park's monthly inputs for last period, when the caller built them already
    (they are the same for every report of the park)."""
    now = now or utcnow()
    period = previous_period(now)
    deadline = deadline_for(period, cadence, deadline_day)
    inputs = inputs or build_park_monthly(store, park, period)
    entry = CalendarEntry(
        park["park_id"],
        platform,
        report,
        cadence,
        period,
        deadline,
        CalendarState.PENDING,
        enterprises=inputs.report.enterprise_count,
        reporting=inputs.report.reporting_enterprises,
        missing=inputs.missing,
    )
    if record_kind == "park_monthly":
        keys = [f"{park['park_id']}|{period}"]
        built = store.records.get("park_monthly", keys[0]) is not None
    else:  # one record per enterprise
        keys = [
            f"{e['credit_code']}|{period}"
            for e in store.records.iter_docs(
                "enterprise_monthly", park_id=park["park_id"], key_suffix=f"|{period}"
            )
        ]
        built = bool(keys)
    # the records to send: an enterprise without figures is `missing`, never an unsent record
    entry.expected = len(keys)
    statuses = store.outbox.best_status(platform, report, record_kind, keys)
    entry.delivered = sum(1 for s in statuses.values() if s is DeliveryStatus.SENT)
    soon = deadline - now < dt.timedelta(days=3)
    if any(s is DeliveryStatus.DEAD for s in statuses.values()):
        entry.state = CalendarState.FAILED
    elif built and entry.delivered >= entry.expected:
        entry.state = (
            CalendarState.DELIVERED_INCOMPLETE if entry.missing else CalendarState.DELIVERED
        )
    elif now > deadline:
        entry.state = CalendarState.LATE
    elif soon:
        entry.state = CalendarState.AT_RISK
    elif not built:
        entry.state = CalendarState.NOT_BUILT
    else:
        entry.state = CalendarState.PENDING
    return entry
