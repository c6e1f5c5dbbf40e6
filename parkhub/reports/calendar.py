"""The reporting calendar: per park and platform report, the next deadline and what is missing.

Monthly reports are due by the `deadline_day` of the following month (Beijing time); quarterly
ones by that day of the month after the quarter. Real-time and daily reports have no period
deadline: their backlog shows in `status` instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from parkhub.canonical.timeutil import SHANGHAI, as_utc, previous_period, utcnow
from parkhub.store import Store
from parkhub.store import schema as t

from .park_monthly import MonthlyInputs, build_park_monthly

PERIODIC_KINDS = {"park_monthly": "monthly", "enterprise_monthly": "monthly"}


@dataclass
class CalendarEntry:
    park_id: str
    platform: str
    report: str
    cadence: str
    period: str
    deadline: dt.datetime
    state: str  # delivered | delivered_incomplete | pending | not_built | at_risk | late | failed
    expected: int = 0
    delivered: int = 0
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


def _sent_counts(
    store: Store, platform: str, report: str, keys: list[str], kind: str
) -> dict[str, str]:
    """Best delivery status per record key for this platform report (sent beats the rest)."""
    if not keys:
        return {}
    d = t.deliveries.c
    rank = {"sent": 0, "in_flight": 1, "pending": 2, "failed": 3, "dead": 4, "superseded": 5}
    out: dict[str, str] = {}
    with store.engine.connect() as conn:
        for start in range(0, len(keys), 500):
            rows = conn.execute(
                select(d.record_key, d.status, func.count())
                .where(
                    d.platform == platform,
                    d.report == report,
                    d.record_kind == kind,
                    d.record_key.in_(keys[start : start + 500]),
                )
                .group_by(d.record_key, d.status)
            ).all()
            for key, status, _n in rows:
                if key not in out or rank.get(status, 9) < rank.get(out[key], 9):
                    out[key] = status
    return out


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
        "pending",
        missing=inputs.missing,
    )
    if record_kind == "park_monthly":
        keys = [f"{park['park_id']}|{period}"]
        built = store.record("park_monthly", keys[0]) is not None
    else:  # one record per enterprise
        keys = [
            f"{e['credit_code']}|{period}"
            for e in store.iter_docs(
                "enterprise_monthly", park_id=park["park_id"], key_suffix=f"|{period}"
            )
        ]
        built = True
    entry.expected = 1 if record_kind == "park_monthly" else inputs.report.enterprise_count
    statuses = _sent_counts(store, platform, report, keys, record_kind)
    entry.delivered = sum(1 for s in statuses.values() if s == "sent")
    soon = deadline - now < dt.timedelta(days=3)
    if any(s == "dead" for s in statuses.values()):
        entry.state = "failed"
    elif built and entry.delivered >= entry.expected:
        entry.state = "delivered_incomplete" if entry.missing else "delivered"
    elif now > deadline:
        entry.state = "late"
    elif soon:
        entry.state = "at_risk"
    elif not built:
        entry.state = "not_built"
    else:
        entry.state = "pending"
    return entry
