"""Meters stuck, running backwards or jumping are told as their readings arrive; readings of
metrics no rule watches pass untouched."""

from __future__ import annotations

import datetime as dt

from parkhub.canonical import Measurement
from parkhub.canonical.timeutil import parse_local
from parkhub.ingest.quality import QualityGate
from parkhub.ingest.screening import Screen
from parkhub.store import Store
from tests.ingest.support import PARK, Park, config, make_park

START = parse_local("2026-10-01 00:00:00")


def reading(hour: int, value: float, *, period: str = "instant", metric: str = "electricity",
            device: str = "onenet:em-1") -> Measurement:  # fmt: skip
    return Measurement(
        park_id=PARK,
        device_id=device,
        metric=metric,
        ts=START + dt.timedelta(hours=hour),
        period=period,
        value=value,
    )


def _said(result: object) -> list[str]:
    return [f.message for f in result.findings]  # type: ignore[attr-defined]


def test_a_register_running_backwards_is_told_once(park: Park) -> None:
    park.feed([reading(h, 1000.0 + 10 * h) for h in range(5)], source="onenet-a")
    result = park.feed([reading(5, 900.0), reading(6, 910.0)], source="onenet-a")
    [finding] = result.findings
    assert finding.rule == "meter" and finding.severity == "warn" and finding.field == "value"
    assert "倒走" in finding.message and "1,040.00 → 900.00" in finding.message
    assert result.new == 2 and result.deliveries == 2  # warn: passes, shown


def test_a_register_stuck_for_days_is_told_once(park: Park) -> None:
    park.feed([reading(h, 500.0 + h) for h in range(3)], source="onenet-a")
    stuck = [reading(h, 502.0) for h in range(3, 100, 6)]
    result = park.feed(stuck, source="onenet-a")
    assert _said(result) == ["表底读数 502.00 已 73 小时未变 (meter stuck for 73 h)"]


def test_a_register_jumping_far_past_its_rate(park: Park) -> None:
    park.feed([reading(h, 100.0 + 5 * h) for h in range(6)], source="onenet-a")
    result = park.feed([reading(6, 2000.0)], source="onenet-a")
    assert ["跳变" in m for m in _said(result)] == [True]


def test_negative_or_jumping_consumption(park: Park) -> None:
    days = [reading(24 * d, 300.0 + d, period="day") for d in range(5)]
    park.feed(days, source="qisheng-lc")
    result = park.feed(
        [reading(24 * 5, -12.0, period="day"), reading(24 * 6, 30_000.0, period="day")],
        source="qisheng-lc",
    )
    assert len(result.findings) == 2
    assert "用量为负" in _said(result)[0] and "用量跳变" in _said(result)[1]


def test_late_readings_are_not_judged(park: Park) -> None:
    park.feed([reading(h, 1000.0 + h) for h in range(10, 14)], source="onenet-a")
    assert park.feed([reading(2, 5.0)], source="onenet-a").findings == []


def test_a_held_meter_reading_goes_nowhere(store: Store) -> None:
    park = make_park(store, config(quality={"rules": {"meter": {"severity": "hold"}}}))
    park.feed([reading(h, 1000.0 + h) for h in range(3)], source="onenet-a")
    result = park.feed([reading(3, 10.0), reading(4, 11.0)], source="onenet-a")
    assert result.held == 1 and result.new == 1
    [hold] = store.reviews.holds()
    assert park.deliveries("measurement", hold["key"]) == []


def test_the_meter_watch_reads_a_parks_recent_readings_once(store: Store) -> None:
    first = make_park(store, config())
    first.feed([reading(h, 1000.0 + h) for h in range(4)], source="onenet-a")
    again = make_park(store, config())  # a new process: its watch starts empty
    result = again.feed([reading(4, 100.0)], source="onenet-a")
    assert ["倒走" in m for m in _said(result)] == [True]


def test_readings_no_rule_watches_pass_with_nothing_looked_up(store: Store) -> None:
    cfg = config(quality={"rules": {"meter": {"metrics": ["water"]}}}, survivorship={})
    gate = QualityGate(store, cfg)
    screen = Screen(None, gate)
    readings = [reading(h, 10.0 - h) for h in range(5)]  # backwards, but electricity
    records, review = screen(readings, "onenet-a")
    assert records is readings and review is None
    off = Screen(None, QualityGate(store, config(quality={"rules": {"meter": {"enabled": False}}})))
    assert "measurement" not in off.kinds
    records, review = off(readings, "onenet-a")
    assert records is readings and review is None
