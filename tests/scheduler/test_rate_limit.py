"""Back-pressure: a platform's rate limit and concurrency cap hold across dispatchers sharing a
database; an outage pauses the platform instead of spending every delivery's attempts; a
provincial outage's backlog (1,100 parks' monthly reports and rosters) drains after recovery
within the limit while fire alarms keep their priority.

The simulators run in processes of their own (their clocks judge the limit). CI drains 3,300
deliveries (1,100 parks, 2 enterprises each); `make chaos` drains 166,100 (150 each,
PARKHUB_CHAOS_ROSTER).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from typing import Any

import pytest

from parkhub.canonical import Record
from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.sandbox import load
from parkhub.store import DeliveryStatus
from tests.scheduler.support import SECRETS, SimProcess, platform, simulators, windows_over

RETRY = {
    "short_retries": 1,
    "short_wait_seconds": 0.05,
    "base_seconds": 0.05,
    "max_backoff_seconds": 0.5,
    "max_attempts": 10,
}
SLACK = 0.05
"""Seconds a request may arrive early or late at the simulator (scheduling on a busy machine)."""


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def hub_for(db_url: str, sims: dict[str, SimProcess], parks: int, limits: dict[str, Any]) -> Hub:
    config = {
        "parks": [
            {"id": load.park_id(p), "name": f"园区{p}", "division_code": "330302"}
            for p in range(parks)
        ],
        "platforms": [
            platform(
                "provincial",
                ["enterprise_roster", "park_monthly"],
                sims["provincial"].url,
                RETRY,
                limits=limits,
            ),
            platform("fire", ["fire_events"], sims["fire"].url, RETRY),
        ],
        "dispatch": {"batch_size": 200, "concurrency": 8, "lease_seconds": 60},
    }
    return Hub.open(parse_config(config), url=db_url)


def workers(
    db_url: str, sims: dict[str, SimProcess], parks: int, limits: dict[str, Any]
) -> list[Hub]:
    """Two hubs on PostgreSQL (two workers: they share only the database), one on SQLite."""
    count = 2 if db_url.startswith("postgresql") else 1
    return [hub_for(db_url, sims, parks, limits) for _ in range(count)]


class Dispatching:
    """Each hub dispatches in a thread of its own, as `parkhub run`'s dispatch job does, with
    its fast lane running."""

    def __init__(self, hubs: list[Hub], every: float = 0.2) -> None:
        self.hubs = hubs
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._loop, args=(h, every)) for h in hubs]
        for hub in hubs:
            hub.start_fast_lane()
        for t in self.threads:
            t.start()

    def _loop(self, hub: Hub, every: float) -> None:
        while not self.stop.is_set():
            hub.dispatch()
            self.stop.wait(every)

    def __enter__(self) -> Dispatching:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def _statuses(hub: Hub, platform_name: str) -> dict[str, int]:
    return hub.store.outbox.status_counts().get(platform_name, {})


def _wait_until(what: str, check: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s")
        time.sleep(0.1)


def test_rate_and_concurrency_hold_across_dispatchers(db_url: str, secrets: None) -> None:
    limits = {"rate_per_second": 40, "burst": 5, "max_concurrency": 3}
    with simulators("provincial", "fire") as sims:
        hubs = workers(db_url, sims, 3, limits)
        try:
            hubs[0].ingest_records(load.enterprises(1, 200), source="load")
            with Dispatching(hubs):
                _wait_until(
                    "all sent", lambda: _statuses(hubs[0], "provincial") == {"sent": 200}, 60
                )
            traffic = sims["provincial"].state()["traffic"]
        finally:
            for hub in hubs:
                hub.close()
    arrivals = traffic["arrivals"]
    assert len(arrivals) == 200
    # a token bucket of 5 refilled at 40 a second: at most 5 + 40 t requests in t seconds
    for window in (0.25, 1.0, 2.0):
        assert windows_over(arrivals, window) <= 5 + 40 * (window + SLACK), window
    assert traffic["max_in_progress"] <= 3
    # ... and the limit is what it spends: 200 requests take about (200 - 5) / 40 s
    assert max(arrivals) - min(arrivals) >= (200 - 5) / 40 * 0.9


def test_an_outage_pauses_the_platform_and_costs_few_attempts(db_url: str, secrets: None) -> None:
    with simulators("provincial", "fire") as sims:
        sims["provincial"].chaos(rate=1.0, modes=["503"])  # down
        [hub] = [hub_for(db_url, sims, 3, {"pause_after_failures": 3})]
        try:
            hub.ingest_records(load.enterprises(1, 100), source="load")
            with Dispatching([hub], every=0.05):
                time.sleep(5)  # ten times the longest pause (max_backoff_seconds)
                during = sims["provincial"].state()["traffic"]["arrivals"]
                rows = hub.store.outbox.deliveries(limit=1000)
                sims["provincial"].chaos()  # back
                _wait_until("all sent", lambda: _statuses(hub, "provincial") == {"sent": 100}, 60)
            after = hub.store.outbox.deliveries(limit=1000)
        finally:
            hub.close()
    # without the pause every delivery would have been tried ~10 times (and died)
    assert len(during) < 100
    assert sum(r["attempts"] for r in rows) < 60
    assert all(r["status"] in ("pending", "failed", "in_flight") for r in rows)
    assert max(r["attempts"] for r in after) <= 4


def backlog(parks: int, roster: int) -> list[Record]:
    records: list[Record] = []
    for p in range(parks):
        records.append(load.park_monthly(p, "2026-10", roster))
        records += load.enterprises(p, roster)
    return records


def test_a_days_outage_drains_within_the_limit_and_alarms_go_first(
    db_url: str, secrets: None
) -> None:
    drain(db_url, parks=1100, roster=2, rate=200)


@pytest.mark.chaos
@pytest.mark.timeout(3600)
def test_a_days_outage_of_the_whole_province(db_url: str, secrets: None) -> None:
    drain(db_url, parks=1100, roster=int(os.environ.get("PARKHUB_CHAOS_ROSTER", "150")), rate=400)


def drain(db_url: str, *, parks: int, roster: int, rate: float) -> None:
    """The provincial platform is down for 'a day' (24 of its longest retry backoffs, scaled
    down: 24 x 0.5 s) while 1,100 parks' monthly reports and rosters queue; then it is back,
    and the backlog drains at `rate` requests a second, 8 at a time, while fire alarms keep
    arriving."""
    limits = {"rate_per_second": rate, "burst": 20, "max_concurrency": 8}
    with simulators("provincial", "fire") as sims:
        provincial, fire = sims["provincial"], sims["fire"]
        provincial.chaos(rate=1.0, modes=["503"])
        hubs = workers(db_url, sims, parks, limits)
        alarms: dict[str, float] = {}  # event id -> when it was stored
        try:
            records = backlog(parks, roster)
            with Dispatching(hubs):
                for start in range(0, len(records), 5000):
                    hubs[0].ingest_records(records[start : start + 5000], source="load")
                _alarms(hubs[-1], alarms, 0, 10, 0.5)  # during the outage
                time.sleep(max(0.0, 24 * RETRY["max_backoff_seconds"] - 5))
                outage = provincial.state()["traffic"]["arrivals"]
                recovered = time.time()
                provincial.chaos()
                _alarms(hubs[-1], alarms, 10, 40, 0.25)  # while the backlog drains
                _wait_until(
                    "drained",
                    lambda: _statuses(hubs[0], "provincial") == {"sent": len(records)},
                    len(records) / rate * 3 + 60,
                )
                _wait_until("alarms acknowledged", lambda: len(_acked(fire)) == len(alarms), 30)
            rows = hubs[0].store.outbox.deliveries(platform="provincial", limit=1_000_000)
            state = provincial.state()
            acked = _acked(fire)
        finally:
            for hub in hubs:
                hub.close()
    traffic = state["traffic"]
    # the outage cost a few probes, not every delivery's attempts, and killed nothing
    assert len(outage) < 200
    assert {r["status"] for r in rows} == {DeliveryStatus.SENT}
    assert max(r["attempts"] for r in rows) <= 4
    # the drain kept to the limit: bucket of 20 refilled at `rate`, 8 at a time
    drained = [t for t in traffic["arrivals"] if t >= recovered]
    for window in (0.5, 1.0, 5.0):
        assert windows_over(drained, window) <= 20 + rate * (window + SLACK), window
    assert traffic["max_in_progress"] <= 8
    # the alarms went first: each acknowledged soon after it was stored, the ones during the
    # drain long before the backlog was through
    waits = sorted(acked[e] - stored for e, stored in alarms.items())
    assert waits[-1] < 2.0, waits
    last_roster = max(a["at"] for a in state["accepted"])
    assert max(acked.values()) < last_roster


def _alarms(hub: Hub, stored: dict[str, float], first: int, last: int, every: float) -> None:
    for n in range(first, last):
        alarm = load.fire_alarm(1, n, dt.datetime.now(dt.UTC))
        stored[alarm.event_id] = time.time()
        hub.ingest_records([alarm], source="alarms")
        time.sleep(every)


def _acked(fire: SimProcess) -> dict[str, float]:
    return {a["payload"]["eventId"]: a["at"] for a in fire.state()["accepted"]}
