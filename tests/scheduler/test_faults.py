"""Platform faults for a whole run: three platforms meet a third of the requests with a fault
(HTTP 5xx and 429, timeouts, connections reset before and after the platform took the payload,
slow answers, business errors inside HTTP 200, success answers without a receipt or with a
wrong one, and a few records refused for good). Every delivery ends delivered (once, with the
platform's own receipt) or dead after the cap or a permanent error, with exactly one alert per
dead delivery and robot; after a replay the payloads the platform had already taken are not
taken again.

CI runs 600 deliveries on SQLite and PostgreSQL; `make chaos` runs 5,000
(PARKHUB_CHAOS_FAULT_DELIVERIES).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from parkhub.canonical import Record
from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.sandbox import load
from parkhub.sandbox.econ_sim import EconSim
from parkhub.sandbox.faults import MODES, PERMANENT, TRANSIENT, Chaos
from parkhub.sandbox.fire_sim import FireSim
from parkhub.sandbox.platform_sim import PlatformSim
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.robot_sim import RobotSim
from parkhub.sandbox.server import serve_in_thread
from parkhub.store import DeliveryStatus
from parkhub.store.schema import deliveries
from tests.scheduler.support import SECRETS, platform

RETRY = {
    "short_retries": 1,
    "short_wait_seconds": 0.01,
    "base_seconds": 0.05,
    "max_backoff_seconds": 0.2,
    "max_attempts": 5,
}
PARKS = 4
CHAOS = Chaos(
    rate=0.35,
    # the transient faults twice as likely as the permanent ones
    modes=(*TRANSIENT, *TRANSIENT, *PERMANENT[1:]),
    seed=13,
    doomed=0.02,
    stuck=0.02,
    slow_seconds=0.3,
    hang_seconds=2.0,
)
WECOM_KEY = "wecom-fault-key"


@pytest.fixture
def sims(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    made: dict[str, Any] = {
        "provincial": ProvincialSim(),
        "econ": EconSim(),
        "fire": FireSim(),
        "robot": RobotSim(wecom_key=WECOM_KEY),
    }
    handles = {name: serve_in_thread(sim.app) for name, sim in made.items()}
    monkeypatch.setenv(
        "T_FAULT_WECOM", f"{handles['robot'].url}/cgi-bin/webhook/send?key={WECOM_KEY}"
    )
    try:
        yield {name: (made[name], handles[name].url) for name in made}
    finally:
        for handle in handles.values():
            handle.stop()


def test_every_delivery_is_delivered_once_or_dead_with_one_alert(
    db_url: str, sims: dict[str, Any]
) -> None:
    run_faults(db_url, sims, per_park=50)


@pytest.mark.chaos
@pytest.mark.timeout(1800)
def test_faults_for_a_long_run(db_url: str, sims: dict[str, Any]) -> None:
    n = int(os.environ.get("PARKHUB_CHAOS_FAULT_DELIVERIES", "5000"))
    run_faults(db_url, sims, per_park=max(1, n // (3 * PARKS)))


def workload(per_park: int) -> list[Record]:
    records: list[Record] = []
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for p in range(1, PARKS + 1):
        records += load.enterprises(p, per_park)
        records += load.enterprise_monthly(p, per_park, "2026-10")
        records += [load.fire_alarm(p, n, at) for n in range(per_park)]
    return records


def open_hub(db_url: str, sims: dict[str, Any]) -> Hub:
    def on(name: str, reports: list[str]) -> dict[str, Any]:
        made = platform(name, reports, sims[name][1], RETRY)
        made["config"]["timeout_seconds"] = 1  # a hanging answer times out
        return made

    robots = {"wecom_webhook": "env:T_FAULT_WECOM", "deadlines": False}
    config = {
        "parks": [
            {"id": load.park_id(p), "name": f"园区{p}", "division_code": "330302"}
            for p in range(1, PARKS + 1)
        ],
        "platforms": [
            on("provincial", ["enterprise_roster"]),
            on("econ", ["enterprise_monthly"]),
            on("fire", ["fire_events"]),
        ],
        "alerts": {"parks": {load.park_id(p): robots for p in range(1, PARKS + 1)}},
    }
    return Hub.open(parse_config(config), url=db_url)


def run_faults(db_url: str, sims: dict[str, Any], *, per_park: int) -> None:
    platforms: dict[str, PlatformSim] = {n: sims[n][0] for n in ("provincial", "econ", "fire")}
    for sim in platforms.values():
        sim.chaos(CHAOS)
    hub = open_hub(db_url, sims)
    try:
        hub.ingest_records(workload(per_park), source="load")
        _until_settled(hub)  # faults the whole way: each delivery is sent or dead
        for sim in platforms.values():
            sim.chaos(None)  # recovery
        rows = hub.store.outbox.deliveries(limit=1_000_000)
        assert {r["status"] for r in rows} <= {DeliveryStatus.SENT, DeliveryStatus.DEAD}
        dead = [r for r in rows if r["status"] == DeliveryStatus.DEAD]
        assert {r["error_kind"] for r in dead} == {"permanent", "transient"}  # both ways
        _check_effects(hub, platforms)
        _check_dead_explained(dead, platforms)
        for _ in range(3):  # checks every minute in `parkhub run`: each problem goes once
            hub.alerts.check()
        _check_one_alert_each(dead, sims["robot"][0])
        # the platforms recovered and an operator replays the dead: each is taken once,
        # whether or not the platform had taken it before it failed
        assert hub.replay() == len(dead)
        _until_settled(hub)
        assert hub.status()["platforms"]["provincial"]["dead"] == 0
        _check_effects(hub, platforms)
        assert {r["status"] for r in hub.store.outbox.deliveries(limit=1_000_000)} == {"sent"}
        met = {m for sim in platforms.values() for m in sim.layer.state()["faults"]}
        assert met == set(MODES)  # every fault was met
        # answers lost after the platform took the payload were made good by the key
        assert sum(sim.duplicates for sim in platforms.values()) > 0
    finally:
        hub.close()


def _until_settled(hub: Hub, seconds: float = 300.0) -> None:
    """Dispatch, making the rows waiting for their backoff due at once, until every delivery
    is sent or dead. A paused platform takes one row (its probe) a round, so the budget is
    time, not rounds."""
    deadline = time.monotonic() + seconds
    counts: Counter[str] = Counter()
    while time.monotonic() < deadline:
        if hub.dispatch().claimed == 0:
            time.sleep(0.05)  # every platform paused: its pause (at most 0.2 s here) runs out
        counts = Counter()
        for by_status in hub.store.outbox.status_counts().values():
            counts.update(by_status)
        if counts.keys() <= {DeliveryStatus.SENT, DeliveryStatus.DEAD}:
            return
        d = deliveries.c
        with hub.store.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(d.status.in_([DeliveryStatus.FAILED, DeliveryStatus.PENDING]))
                .values(next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
            )
    pytest.fail(f"not settled after {seconds:.0f} s: {counts}")


def _check_effects(hub: Hub, platforms: dict[str, PlatformSim]) -> None:
    """One effect per delivery at most; every receipt kept is the platform's own."""
    rows = hub.store.outbox.deliveries(limit=1_000_000)
    for name, sim in platforms.items():
        mine = {r["idempotency_key"]: r for r in rows if r["platform"] == name}
        accepted = {a.key: a for a in sim.accepted.values()}
        assert set(accepted) <= set(mine), name  # no effect the hub does not know of
        for key, row in mine.items():
            if row["status"] == DeliveryStatus.SENT:
                assert key in accepted, (name, row["id"])
                assert row["receipt_id"] == accepted[key].receipt, (name, row["id"])
        identity = {"provincial": ("creditCode",), "econ": ("creditCode", "period")}
        fields = identity.get(name, ("eventId",))
        seen = Counter(tuple(a.payload.get(f) for f in fields) for a in accepted.values())
        assert max(seen.values()) == 1, name


def _faults_of(platforms: dict[str, PlatformSim], row: dict[str, Any]) -> list[str | None]:
    by_key = platforms[row["platform"]].layer.traffic.by_key
    return list(by_key.get(row["idempotency_key"], []))


def _check_dead_explained(dead: list[dict[str, Any]], platforms: dict[str, PlatformSim]) -> None:
    """A dead delivery met a permanent fault, or a transient one on every attempt (the cap)."""
    for row in dead:
        faults = _faults_of(platforms, row)
        last = faults[-1] if faults else None
        if last in PERMANENT:
            assert row["error_kind"] == "permanent", row
        else:
            assert row["attempts"] == RETRY["max_attempts"], row
            assert all(f in TRANSIENT for f in faults), (row, faults)


def _check_one_alert_each(dead: list[dict[str, Any]], robot: RobotSim) -> None:
    """Each dead delivery named once across the robot's messages (a message lists 15 and
    counts the rest)."""
    named: Counter[int] = Counter()
    counted = 0
    for message in robot.by_channel("wecom"):
        named.update(int(i) for i in re.findall(r"投递失败已停止重试 #(\d+) ", message.text))
        counted += sum(int(n) for n in re.findall(r"另有 (\d+) 项", message.text))
    assert max(named.values()) == 1
    assert set(named) <= {r["id"] for r in dead}
    assert len(named) + counted == len(dead)
