"""Scheduled work: jobs fire from config, and on PostgreSQL a job runs on one machine at a time."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine

from parkhub.hub import Hub
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.server import ServerHandle
from parkhub.scheduler.service import Job, Service
from parkhub.store import Database


def test_jobs_come_from_the_config(hub: Hub) -> None:
    jobs = {j.id: j for j in hub.jobs()}
    assert set(jobs) == {
        "sync:qisheng-lc",
        "dispatch",
        "reports:monthly",
        "reports:annual",
        "reports:rebuild",
        "inbox:recover",
    }
    assert jobs["sync:qisheng-lc"].every_seconds == 300
    assert jobs["reports:monthly"].cron == "0 1 1 * *"
    assert jobs["reports:annual"].cron == "0 3 20 1 *"  # last year's 亩均 report, in January
    assert jobs["dispatch"].exclusive is False


def test_service_runs_sync_and_dispatch_until_delivered(
    hub: Hub, provincial: tuple[ProvincialSim, ServerHandle]
) -> None:
    jobs = [
        Job("sync", lambda: hub.sync(), every_seconds=0.2),
        Job("dispatch", lambda: hub.dispatch(), every_seconds=0.2, exclusive=False),
    ]
    service = Service(hub.store.db.leader_lock, jobs)
    service.start()
    try:
        deadline = time.monotonic() + 20
        while len(provincial[0].accepted) < 12 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        service.stop()
    assert len(provincial[0].accepted) == 12


def test_a_failing_job_does_not_stop_the_others(sqlite_url: str) -> None:
    ran = threading.Event()

    def boom() -> None:
        raise RuntimeError("boom")

    service = Service(
        Database(create_engine(sqlite_url)).leader_lock,
        [Job("boom", boom, every_seconds=0.1), Job("ok", ran.set, every_seconds=0.1)],
    )
    service.start()
    try:
        assert ran.wait(5)
    finally:
        service.stop()


def test_leader_lock_is_exclusive_on_postgresql(pg_url: str) -> None:
    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with Database(engine).leader_lock("sync:qisheng-lc") as first:
            with Database(engine).leader_lock("sync:qisheng-lc") as second:
                assert first is True and second is False
            with Database(engine).leader_lock("sync:other") as other:
                assert other is True
        with Database(engine).leader_lock("sync:qisheng-lc") as again:
            assert again is True
    finally:
        engine.dispose()


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: object) -> None:
    from pathlib import Path

    from rich.console import Console

    from parkhub.demo import run_demo

    console = Console(record=True, width=120)
    result = run_demo(workdir=Path(str(tmp_path)), console=console, outage_seconds=1.5)
    platforms = result["status"]["platforms"]
    assert set(platforms) == {"provincial", "econ", "safety", "fire", "stats", "ecology"}
    for name, counts in platforms.items():
        assert counts["sent"] > 0, name
        assert counts["pending"] == counts["failed"] == counts["dead"] == 0, name
    assert result["accepted"]["provincial"] == 13 and result["accepted"]["ecology"] == 2
    assert list(result["export_dir"].glob("*.xlsx"))
    text = console.export_text()
    assert "HTTP 503" in text and "to retry" in text and "ZJ" in text
    assert result["elapsed"] < 60
