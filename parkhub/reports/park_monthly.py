"""Period reports built from canonical records at period end: the park's monthly report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from parkhub.canonical import EventKind, ParkMonthly
from parkhub.canonical.timeutil import month_bounds, periods_to
from parkhub.canonical.units import factor
from parkhub.store import Store

M2_PER_MU = 1 / factor("m2", "亩")


@dataclass
class MonthlyInputs:
    """What a park's monthly report was built from, and who is still missing."""

    report: ParkMonthly
    missing: list[dict[str, str]] = field(default_factory=list)
    held: str | None = None
    """Why the report was not queued (a park with no enterprises yet): None when it was."""


def active_in(ent: dict[str, Any], start: dt.date, end: dt.date) -> bool:
    """Whether a roster entry was in the park during [start, end) (Beijing dates)."""
    entered = ent.get("entered_on")
    left = ent.get("left_on")
    if entered and dt.date.fromisoformat(entered) >= end:
        return False
    if ent.get("status") == "left":
        return isinstance(left, str) and dt.date.fromisoformat(left) >= start
    return True


def build_park_monthly(store: Store, park: dict[str, Any], period: str) -> MonthlyInputs:
    """Sum the park's enterprise monthly figures, metered electricity and events for `period`."""
    park_id = park["park_id"]
    start, end = month_bounds(period)
    start_d, end_d = (start + dt.timedelta(hours=8)).date(), (end + dt.timedelta(hours=8)).date()
    enterprises = [
        e
        for e in store.records.iter_docs("enterprise", park_id=park_id)
        if active_in(e, start_d, end_d)
    ]
    by_code = {e["credit_code"]: e for e in enterprises}
    totals = {
        "output_value_yuan": 0.0,
        "revenue_yuan": 0.0,
        "tax_yuan": 0.0,
        "electricity_kwh": 0.0,
        "employees": 0,
    }
    reporting: set[str] = set()
    for doc in store.records.iter_docs(
        "enterprise_monthly", park_id=park_id, key_suffix=f"|{period}"
    ):
        if doc["credit_code"] not in by_code:
            continue
        reporting.add(doc["credit_code"])
        for name in totals:
            totals[name] += doc.get(name) or 0
    metered = sum(
        (m.get("value") or 0.0)
        for m in store.records.docs_between("measurement", park_id=park_id, start=start, end=end)
        if m.get("metric") == "electricity" and m.get("period") in ("day", "month", "hour")
    )
    counts = {
        EventKind.INCIDENT.value: 0,
        EventKind.HIDDEN_DANGER.value: 0,
        EventKind.FIRE_ALARM.value: 0,
    }
    for ev in store.records.docs_between("event", park_id=park_id, start=start, end=end):
        if ev.get("event_kind") in counts:
            counts[ev["event_kind"]] += 1
    land = park.get("land_area_m2")
    floor = park.get("floor_area_m2")
    leased = sum(e.get("floor_area_m2") or 0.0 for e in enterprises)
    mu = land / M2_PER_MU if land else None
    report = ParkMonthly(
        park_id=park_id,
        period=period,
        park_name=park["name"],
        division_code=park["division_code"],
        enterprise_count=len(enterprises),
        above_scale_count=sum(1 for e in enterprises if e.get("above_scale")),
        reporting_enterprises=len(reporting),
        land_area_m2=land,
        floor_area_m2=floor,
        leased_area_m2=round(leased, 2) if leased else None,
        occupancy_rate=round(min(leased / floor, 1.0), 4) if floor and leased else None,
        output_value_yuan=round(totals["output_value_yuan"], 2),
        revenue_yuan=round(totals["revenue_yuan"], 2),
        tax_yuan=round(totals["tax_yuan"], 2),
        employees=int(totals["employees"]),
        # Metered consumption is the objective figure; enterprise-reported totals fill in.
        electricity_kwh=round(metered or totals["electricity_kwh"], 2),
        # a month's figures per mu, named as such: the official 亩均 figures are annual
        tax_per_mu_month_yuan=round(totals["tax_yuan"] / mu, 2) if mu else None,
        revenue_per_mu_month_yuan=round(totals["revenue_yuan"] / mu, 2) if mu else None,
        **_per_mu_12_months(store, park_id, period, mu),
        safety_incidents=counts[EventKind.INCIDENT.value],
        hidden_dangers=counts[EventKind.HIDDEN_DANGER.value],
        fire_alarms=counts[EventKind.FIRE_ALARM.value],
    )
    missing = [
        {"credit_code": code, "name": e.get("name", "")}
        for code, e in sorted(by_code.items())
        if code not in reporting
    ]
    return MonthlyInputs(report, missing)


ROLLING = {
    "tax_yuan": "tax_per_mu_12m_yuan",
    "revenue_yuan": "revenue_per_mu_12m_yuan",
    "value_added_yuan": "value_added_per_mu_12m_yuan",
}


def _per_mu_12_months(
    store: Store, park_id: str, period: str, mu: float | None
) -> dict[str, float | None]:
    """The park's tax, revenue and value added of the 12 months to `period` per mu of its
    land: the rolling counterpart of the annual 亩均 figures. None unless every one of the 12
    months has figures (a sum of fewer months would look like a bad year)."""
    out: dict[str, float | None] = dict.fromkeys(ROLLING.values())
    if not mu:
        return out
    sums = dict.fromkeys(ROLLING, 0.0)
    seen = dict.fromkeys(ROLLING, 0)
    for month in periods_to(period, 12):
        present = set()
        for doc in store.records.iter_docs(
            "enterprise_monthly", park_id=park_id, key_suffix=f"|{month}"
        ):
            for name in ROLLING:
                value = doc.get(name)
                if value is not None:
                    sums[name] += value
                    present.add(name)
        for name in present:
            seen[name] += 1
    for name, target in ROLLING.items():
        if seen[name] == 12:
            out[target] = round(sums[name] / mu, 2)
    return out
