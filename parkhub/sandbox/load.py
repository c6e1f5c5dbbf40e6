"""Canonical records in bulk, for the proofs under load and the province benchmark: parks with
their enterprises, the enterprises' monthly figures, park monthly reports, meter readings and
fire alarms. Deterministic: the same arguments give the same records (credit codes are valid,
synthetic, and never a registrar's: parkhub.sandbox.data.credit_code)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from parkhub.canonical import (
    Enterprise,
    EnterpriseMonthly,
    Event,
    EventKind,
    Measurement,
    ParkMonthly,
    Period,
)

from .data import NAMES, credit_code

DIVISIONS = ("330302", "330303", "330304", "330305", "330324", "330326", "330327", "330328")
"""Wenzhou's counties: a park's enterprises get credit codes in its county."""
PER_DIVISION = 9999
"""Serial numbers a division has for synthetic credit codes."""
METRICS = ("electricity", "water", "gas")


def park_id(n: int) -> str:
    return f"p{n:04d}"


def enterprise_code(park: int, i: int, per_park: int) -> str:
    """The credit code of a park's i-th enterprise (parks share a county's 9,999 serials)."""
    serial = park * per_park + i
    division = DIVISIONS[(serial // PER_DIVISION) % len(DIVISIONS)]
    return credit_code(division, serial % PER_DIVISION + 1)


def enterprises(park: int, count: int) -> list[Enterprise]:
    return [
        Enterprise(
            park_id=park_id(park),
            credit_code=enterprise_code(park, i, count),
            name=NAMES[i % len(NAMES)][0].replace("有限公司", f"{park}-{i}号有限公司"),
            industry_code=NAMES[i % len(NAMES)][1],
            floor_area_m2=1200.0 + i,
        )
        for i in range(count)
    ]


def enterprise_monthly(park: int, count: int, period: str) -> list[EnterpriseMonthly]:
    return [
        EnterpriseMonthly(
            park_id=park_id(park),
            credit_code=enterprise_code(park, i, count),
            period=period,
            output_value_yuan=1_000_000.0 + 1000 * i,
            revenue_yuan=900_000.0 + 900 * i,
            tax_yuan=50_000.0 + 50 * i,
            employees=20 + i % 50,
            electricity_kwh=30_000.0 + 10 * i,
        )
        for i in range(count)
    ]


def park_monthly(park: int, period: str, enterprise_count: int = 150) -> ParkMonthly:
    return ParkMonthly(
        park_id=park_id(park),
        period=period,
        park_name=f"基准小微企业园{park:04d}",
        division_code=DIVISIONS[park % len(DIVISIONS)],
        enterprise_count=enterprise_count,
        above_scale_count=enterprise_count // 5,
        reporting_enterprises=enterprise_count,
        output_value_yuan=1.5e8,
        revenue_yuan=1.4e8,
        tax_yuan=7.5e6,
        employees=enterprise_count * 30,
        electricity_kwh=4.5e6,
    )


def fire_alarm(park: int, n: int, at: dt.datetime) -> Event:
    return Event(
        park_id=park_id(park),
        event_id=f"fire-{park}-{n}",
        event_kind=EventKind.FIRE_ALARM,
        ts=at,
        device_id=f"smoke-{park}-{n % 40}",
        severity="critical",
        title="烟感报警",
        location=f"{n % 6 + 1}号楼{n % 5 + 1}层",
    )


def readings(
    park: int, meters: int, day: dt.date, slots: range = range(96)
) -> Iterator[list[Measurement]]:
    """A park's meter readings for `day`, every 15 minutes: one list per slot (all meters)."""
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    pid = park_id(park)
    for slot in slots:
        ts = start + dt.timedelta(minutes=15 * slot)
        yield [
            Measurement(
                park_id=pid,
                device_id=f"m{park}-{m}",
                metric=METRICS[m % 3],
                ts=ts,
                period=Period.INSTANT,
                value=1000.0 + slot * 2.5 + m,
                unit=("kWh", "m3", "m3")[m % 3],
            )
            for m in range(meters)
        ]
