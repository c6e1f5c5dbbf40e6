"""Every rule at every severity, on SQLite and PostgreSQL: `info` and `warn` pass with the
finding shown, `hold` keeps the record out of every outbox until a reviewer approves it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from parkhub.canonical import Measurement, Record
from parkhub.canonical.timeutil import parse_local, periods_to, previous_period
from parkhub.policies.quality import SEVERITIES
from parkhub.sandbox.data import credit_code
from parkhub.store import HoldStatus, Store
from tests.ingest.support import CODE, PARK, Park, config, enterprise, make_park, monthly

Scenario = Callable[[Park], tuple[list[Record], str]]
"""Feeds a park what comes before; returns the records that break the rule, and their source."""


def _range(park: Park) -> tuple[list[Record], str]:
    return [monthly(CODE, "2026-10", revenue_yuan=1e19)], "entry:p1"


def _unit(park: Park) -> tuple[list[Record], str]:
    rec = monthly(CODE, "2026-10", revenue_yuan=3.2e9, output_value_yuan=3.1e5, tax_yuan=1e4)
    return [rec], "entry:p1"


def _jump(park: Park) -> tuple[list[Record], str]:
    park.history(CODE, "2026-09", 3, revenue_yuan=1_000_000.0)
    return [monthly(CODE, "2026-10", revenue_yuan=15_000_000.0)], "entry:p1"


def _intensity(park: Park) -> tuple[list[Record], str]:
    firms = [enterprise(credit_code("330302", 10 + i), industry_code="3823") for i in range(5)]
    park.feed(firms, source="qisheng-lc")
    park.feed(
        [
            monthly(f.credit_code, "2026-10", output_value_yuan=2e6, electricity_kwh=1e5)
            for f in firms[:4]
        ],
        source="qisheng-lc",
    )
    odd = monthly(firms[4].credit_code, "2026-10", output_value_yuan=2e7, electricity_kwh=5e3)
    return [odd], "entry:p1"


def _tax(park: Park) -> tuple[list[Record], str]:
    return [monthly(CODE, "2026-10", revenue_yuan=100_000.0, tax_yuan=120_000.0)], "entry:p1"


def _scale(park: Park) -> tuple[list[Record], str]:
    months = periods_to(previous_period(), 12)
    park.history(CODE, months[-1], 12, revenue_yuan=500_000.0)
    return [enterprise(CODE, above_scale=True)], "entry:p1"


def _meter(park: Park) -> tuple[list[Record], str]:
    start = parse_local("2026-10-01 00:00:00")

    def reading(hour: int, value: float) -> Measurement:
        return Measurement(
            park_id=PARK,
            device_id="onenet:em-1",
            metric="electricity",
            ts=start + dt.timedelta(hours=hour),
            value=value,
        )

    park.feed([reading(h, 1000.0 + 10 * h) for h in range(5)], source="onenet-a")
    return [reading(5, 900.0)], "onenet-a"


def _missing(park: Park) -> tuple[list[Record], str]:
    park.history(CODE, "2026-08", 3, revenue_yuan=1e6)
    return [monthly(CODE, "2026-10", revenue_yuan=1e6)], "entry:p1"


SCENARIOS: dict[str, Scenario] = {
    "range": _range,
    "unit_mistake": _unit,
    "jump": _jump,
    "intensity": _intensity,
    "tax_revenue": _tax,
    "scale": _scale,
    "meter": _meter,
    "missing_month": _missing,
}


@pytest.mark.parametrize("severity", SEVERITIES)
@pytest.mark.parametrize("rule", sorted(SCENARIOS))
def test_each_rule_at_each_severity(store: Store, rule: str, severity: str) -> None:
    park = make_park(store, config(quality={"rules": {rule: {"severity": severity}}}))
    records, source = SCENARIOS[rule](park)
    result = park.feed(records, source=source)
    found = [(f.rule, f.severity) for f in result.findings]
    assert (rule, severity) in found, found
    [rec] = records
    kind = rec.kind
    if severity != "hold":
        assert result.held == 0 and result.deliveries == 1
        assert park.doc(kind, rec.key) is not None
        return
    assert result.held == 1 and result.deliveries == 0
    assert park.deliveries(kind, rec.key) == []
    [hold] = store.reviews.holds(park_ids=[PARK], statuses=(HoldStatus.WAITING,))
    assert hold["key"] == rec.key
    decision = park.review.approve(hold["id"], actor="web:shen")
    assert decision.status == HoldStatus.APPROVED and decision.deliveries == 1
    assert len(park.deliveries(kind, rec.key)) == 1
