"""Meters that are stuck, run backwards or jump, watched as readings arrive.

The last state of every series (device, metric, stat, period) is kept in memory, so a reading
costs a dictionary lookup and a few comparisons; a park's recent readings are read once, in
bulk, when its first page arrives (`seed_hours`). Readings older than the series' last one
(late data, a backfill) are not judged.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

from parkhub.canonical import Measurement
from parkhub.policies.quality import MeterRule
from parkhub.store import Store

PERIOD_HOURS = {"minute": 1 / 60, "hour": 1.0, "day": 24.0, "month": 720.0}
"""Consumption per period; `instant` readings are a register (cumulative)."""
MIN_SEEN = 3
"""Readings of a series before a jump can be told from its level."""
Judged = tuple[Measurement, str]
"""A reading and what is wrong with it."""
_TS = attrgetter("ts")


@dataclass(slots=True)
class _Series:
    ts: dt.datetime
    value: float
    since: dt.datetime  # register: when it last moved; consumption: when this value began
    level: float | None = None  # register: kWh an hour; consumption: the usual amount
    seen: int = 1
    stuck: bool = False


class MeterWatch:
    """The state of every meter series this process has seen; safe across threads."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._series: dict[tuple[str, str, str | None, str], _Series] = {}
        self._seeded: set[str] = set()
        self._lock = threading.Lock()

    def check(self, park_id: str, readings: Sequence[Measurement], rule: MeterRule) -> list[Judged]:
        """Judge a page's readings of the watched metrics, in time order; remember them."""
        metrics = rule.metrics
        mine = [r for r in readings if r.metric in metrics]
        if not mine:
            return []
        if park_id not in self._seeded:
            self._seed(park_id, min(r.ts for r in mine), rule)
        mine.sort(key=_TS)
        series = self._series
        out: list[Judged] = []
        with self._lock:  # the hot path of ingest: a lookup and a few comparisons a reading
            for r in mine:
                value = r.value
                if value is None:
                    continue
                key = (r.device_id, r.metric, r.stat, r.period)
                s = series.get(key)
                if s is None:
                    series[key] = _Series(r.ts, value, r.ts)
                    continue
                said = _observe(s, r.ts, value, key[3], rule)
                if said is not None:
                    out.append((r, said))
        return out

    def _seed(self, park_id: str, first: dt.datetime, rule: MeterRule) -> None:
        """The park's readings of the last `seed_hours` before its first page: one query."""
        start = first - dt.timedelta(hours=rule.seed_hours)
        docs = [
            d
            for d in self.store.records.docs_between(
                "measurement", park_id=park_id, start=start, end=first
            )
            if d.get("metric") in rule.metrics and d.get("value") is not None
        ]
        with self._lock:
            if park_id in self._seeded:
                return
            for d in sorted(docs, key=lambda d: str(d["ts"])):
                key = (d["device_id"], d["metric"], d.get("stat"), d.get("period", "instant"))
                ts = dt.datetime.fromisoformat(d["ts"])
                s = self._series.get(key)
                if s is None:
                    self._series[key] = _Series(ts, float(d["value"]), ts)
                else:
                    _observe(s, ts, float(d["value"]), key[3], rule)
            self._seeded.add(park_id)


def _observe(s: _Series, ts: dt.datetime, value: float, period: str, rule: MeterRule) -> str | None:
    """One more reading of a series: what is wrong with it, if anything."""
    if ts <= s.ts:
        return None  # late data: judged against what came after it, it would mislead
    hours = PERIOD_HOURS.get(period)
    said = _register(s, ts, value, rule) if hours is None else _amount(s, ts, value, hours, rule)
    s.seen += 1
    return said


def _register(s: _Series, ts: dt.datetime, value: float, rule: MeterRule) -> str | None:
    if value < s.value:
        back = f"表底读数倒走：{s.value:,.2f} → {value:,.2f} (meter ran backwards)"
        s.ts, s.value, s.since, s.level, s.stuck = ts, value, ts, None, False
        return back
    if value == s.value:
        s.ts = ts
        if not s.stuck and (ts - s.since).total_seconds() >= rule.stuck_hours * 3600:
            s.stuck = True
            hours = (ts - s.since).total_seconds() / 3600
            return f"表底读数 {value:,.2f} 已 {hours:.0f} 小时未变 (meter stuck for {hours:.0f} h)"
        return None
    rate = (value - s.value) / max((ts - s.ts).total_seconds() / 3600, 1 / 3600)
    said: str | None = None
    if s.level and s.seen >= MIN_SEEN and rate > rule.jump_factor * s.level:
        said = (
            f"表底读数跳变：{s.value:,.2f} → {value:,.2f}，每小时 {rate:,.1f}，"
            f"通常约 {s.level:,.1f} (meter jumped: {rate / s.level:,.0f}x its usual rate)"
        )
    else:
        s.level = rate if s.level is None else 0.8 * s.level + 0.2 * rate
    s.ts, s.value, s.since, s.stuck = ts, value, ts, False
    return said


def _amount(s: _Series, ts: dt.datetime, value: float, hours: float, rule: MeterRule) -> str | None:
    said = None
    if value < 0:
        said = f"用量为负：{value:,.2f} (negative consumption: the meter ran backwards)"
    elif s.level and s.seen >= MIN_SEEN and value > rule.jump_factor * s.level:
        said = (
            f"用量跳变：{value:,.2f}，通常约 {s.level:,.2f} "
            f"(consumption jumped to {value / s.level:,.0f}x its usual level)"
        )
    else:
        s.level = value if s.level is None else 0.8 * s.level + 0.2 * value
    if value == s.value and value > 0:
        span = (ts - s.since).total_seconds() / 3600 + hours
        if not s.stuck and span >= rule.stuck_hours:
            s.stuck = True
            said = said or (
                f"连续 {span:.0f} 小时用量都是 {value:,.2f}，疑似估算或表计停滞 "
                f"(the same amount for {span:.0f} h: estimated, or a stuck meter)"
            )
    else:
        s.since, s.stuck = ts, False
    s.ts, s.value = ts, value
    return said
