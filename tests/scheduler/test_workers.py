"""Several workers on PostgreSQL: three `parkhub run` processes share one database and thousands
of deliveries to three platforms while they are killed with SIGKILL at random and started
again. The simulators (processes of their own) count effects by idempotency key: nothing is
lost, nothing takes effect twice, every receipt stored is the platform's, and the scheduled
pull fires once per period.

CI runs 3,000 deliveries; `make chaos` runs 10,000 (PARKHUB_CHAOS_DELIVERIES).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from parkhub.canonical import Record
from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.sandbox import load
from parkhub.store import DeliveryStatus
from tests.scheduler.support import SECRETS, Workers, platform, simulators

PERIOD = "2026-10"
SYNC_EVERY = 4.0
RETRY = {
    "short_retries": 1,
    "short_wait_seconds": 0.05,
    "base_seconds": 0.5,
    "max_backoff_seconds": 2,
    "max_attempts": 100,
}


@pytest.mark.timeout(400)
def test_three_workers_killed_at_random_lose_nothing_and_duplicate_nothing(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_workers(pg_url, tmp_path, monkeypatch, deliveries=3000, min_kills=5, deadline=300)


@pytest.mark.chaos
@pytest.mark.timeout(1500)
def test_three_workers_ten_thousand_deliveries(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = int(os.environ.get("PARKHUB_CHAOS_DELIVERIES", "10000"))
    run_workers(pg_url, tmp_path, monkeypatch, deliveries=n, min_kills=20, deadline=1200)


def workload(deliveries: int) -> list[Record]:
    """About `deliveries` records, a third to each platform, over parks of 50 enterprises."""
    per_platform = math.ceil(deliveries / 3)
    records: list[Record] = []
    parks = math.ceil(per_platform / 50)
    for p in range(1, parks + 1):
        records += load.enterprises(p, 50)
        records += load.enterprise_monthly(p, 50, PERIOD)
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    records += [load.fire_alarm(1 + n % parks, n, start) for n in range(per_platform)]
    return records


def config(sims: dict[str, Any], parks: int) -> dict[str, Any]:
    return {
        "parks": [
            {"id": load.park_id(p), "name": f"园区{p}", "division_code": "330302"}
            for p in range(parks + 1)
        ],
        "sources": [
            {
                "name": "qisheng-w",
                "vendor": "qisheng",
                "park": load.park_id(0),
                "schedule": {"every_seconds": SYNC_EVERY},
                "config": {
                    "base_url": sims["qisheng"].url,
                    "app_id": "demo-app",
                    "app_secret": "env:PARKHUB_DEMO_QISHENG_SECRET",
                },
            }
        ],
        "platforms": [
            platform("provincial", ["enterprise_roster"], sims["provincial"].url, RETRY),
            platform("econ", ["enterprise_monthly"], sims["econ"].url, RETRY),
            platform("fire", ["fire_events"], sims["fire"].url, RETRY),
        ],
        # a lease well past a batch's sending time on a loaded machine (else another worker
        # takes the batch over mid-send: no harm to the data, but the work is done twice)
        "dispatch": {
            "schedule": {"every_seconds": 0.5},
            "batch_size": 50,
            "lease_seconds": 8,
            "concurrency": 4,
        },
    }


def run_workers(
    db_url: str,
    tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    deliveries: int,
    min_kills: int,
    deadline: float,
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    records = workload(deliveries)
    parks = max(int(r.park_id[1:]) for r in records)
    rng = random.Random(13)
    with simulators("provincial", "econ", "fire", "qisheng") as sims:
        for name in ("provincial", "econ", "fire"):  # answers that take a while: kills land
            sims[name].chaos(rate=0.1, modes=["slow"], slow_seconds=0.2, seed=1)  # mid-send
        cfg = config(sims, parks)
        hub = Hub.open(parse_config(cfg), url=db_url)
        half = len(records) // 2
        hub.ingest_records(records[:half], source="load")
        workers = Workers(cfg, tmp, db_url, 3)
        try:
            started = time.time()
            rest = records[half:]
            next_kill = time.monotonic() + rng.uniform(1.0, 2.5)
            mid_send = 0  # kills while deliveries were in flight
            counts = _counts(hub)
            while True:
                if rest:  # the rest arrives while the workers run and die
                    hub.ingest_records(rest[:500], source="load")
                    rest = rest[500:]
                if time.monotonic() >= next_kill and workers.kill(rng):
                    mid_send += counts.get("in_flight", 0) > 0
                    next_kill = time.monotonic() + rng.uniform(1.0, 4.0)
                counts = _counts(hub)
                done = not rest and counts.get("sent", 0) == sum(counts.values())
                if done and len(workers.kills) >= min_kills:
                    break
                if time.time() - started > deadline:
                    pytest.fail(f"not delivered in {deadline} s: {counts}\n{workers.output()}")
                time.sleep(0.2)
            ended = time.time()
        finally:
            workers.stop()
        assert mid_send >= min_kills // 2, f"only {mid_send} kills landed mid-send"
        try:
            _check_deliveries(hub, sims)
            _check_once_per_period(hub, sims["qisheng"].state()["pulls"], workers, started, ended)
        finally:
            hub.close()


def _counts(hub: Hub) -> dict[str, int]:
    total: Counter[str] = Counter()
    for by_status in hub.store.outbox.status_counts().values():
        total.update(by_status)
    return dict(total)


def _check_deliveries(hub: Hub, sims: dict[str, Any]) -> None:
    rows = hub.store.outbox.deliveries(limit=1_000_000)
    assert {r["status"] for r in rows} == {DeliveryStatus.SENT}  # nothing lost, none dead
    for name in ("provincial", "econ", "fire"):
        state = sims[name].state()
        accepted = {a["key"]: a for a in state["accepted"]}
        mine = [r for r in rows if r["platform"] == name]
        # one effect per delivery, and none the hub does not know of
        assert set(accepted) == {r["idempotency_key"] for r in mine}, name
        # the receipt kept is the one the platform gave when it took the payload
        wrong = [
            r["id"] for r in mine if r["receipt_id"] != accepted[r["idempotency_key"]]["receipt"]
        ]
        assert wrong == [], name
        # and no business record took effect twice under two keys
        identity = {"provincial": ("creditCode",), "econ": ("creditCode", "period")}
        fields = identity.get(name, ("eventId",))
        seen = Counter(tuple(a["payload"].get(f) for f in fields) for a in state["accepted"])
        assert max(seen.values()) == 1, name


def _check_once_per_period(
    hub: Hub, pulls: list[float], workers: Workers, started: float, ended: float
) -> None:
    """Every worker fires the pull each period; one runs it. A period runs again only when
    the worker running it was killed mid-run (the next in line then finds it not done)."""
    by_period = Counter(math.floor(t / SYNC_EVERY + 1e-9) for t in pulls)
    kills = Counter(math.floor(t / SYNC_EVERY + 1e-9) for t in workers.kills)
    extra = {p: n for p, n in by_period.items() if n > 1 + kills[p] + kills[p + 1]}
    assert extra == {}, f"periods pulled more than once without a kill: {extra}"
    first, last = math.ceil(started / SYNC_EVERY) + 2, math.floor(ended / SYNC_EVERY) - 1
    periods = range(first, last)
    covered = sum(1 for p in periods if by_period[p] >= 1)
    # liveness: the pull goes on while workers die (a period can pass unpulled when the
    # worker running the one before overran it on a loaded machine, or died in it)
    assert covered >= 0.7 * len(periods), (covered, len(periods))
    assert len(pulls) <= len(periods) + 4 + len(workers.kills)
    # the ledger (one row per period: its key) names a run for every period pulled, but
    # those whose worker died mid-run; which worker ran it is a race, often the same one
    ran = {r.period for r in _runs(hub)}
    assert len(ran) >= covered - len(workers.kills), (len(ran), covered)


def _runs(hub: Hub) -> list[Any]:
    from sqlalchemy import select

    from parkhub.store.jobs import job_runs

    with hub.store.engine.connect() as conn:
        return list(conn.execute(select(job_runs).where(job_runs.c.job == "sync:qisheng-w")))
