"""A crash between send and receipt loses nothing and duplicates nothing (guarantee 3).

A real `parkhub dispatch` process is killed (SIGKILL) after the platform accepted the payload but
before the receipt was stored; after its lease expires the delivery is sent again with the same
idempotency key and the platform drops the repeat.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from parkhub.config import HubConfig
from parkhub.hub import Hub
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.qisheng_sim import QishengSim
from parkhub.sandbox.server import ServerHandle
from tests.helpers import PERIOD, make_config


def test_killed_dispatcher_is_recovered_exactly_once(
    db_url: str,
    tmp_path: Path,
    qisheng: tuple[QishengSim, ServerHandle],
    provincial: tuple[ProvincialSim, ServerHandle],
) -> None:
    sim = provincial[0]
    config = make_config(qisheng[1].url, provincial[1].url, db_url)
    data = config.model_dump(mode="json")
    data["dispatch"] = {"lease_seconds": 4, "concurrency": 1, "batch_size": 10}  # a loaded CI
    config = HubConfig.model_validate(data)
    cfg_file = tmp_path / "parkhub.yaml"
    cfg_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    hub = Hub.open(config, url=db_url)
    hub.build_reports(PERIOD, allow_empty=True)
    hub.close()

    sim.delay_after_accept = 30  # accepted, but the answer never arrives before the kill
    env = {**os.environ, "PARKHUB_DATABASE_URL": db_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "parkhub.cli", "dispatch", "--config", str(cfg_file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not sim.accepted:
            if time.monotonic() > deadline or proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"dispatcher never reached the platform: {out}")
            time.sleep(0.05)
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        if proc.stdout:
            proc.stdout.close()
    first = next(iter(sim.accepted.values()))
    sim.delay_after_accept = 0

    hub = Hub.open(config, url=db_url)
    try:
        [row] = hub.store.outbox.deliveries()
        assert row["status"] == "in_flight"  # the killed worker's lease still holds it
        assert hub.dispatch().claimed == 0
        time.sleep(4.2)  # the lease expires: the row returns
        stats = hub.dispatch()
        assert stats.sent == 1
        [row] = hub.store.outbox.deliveries()
        assert row["status"] == "sent" and row["attempts"] == 2
        assert row["receipt_id"] == first.receipt
        assert len(sim.accepted) == 1 and sim.duplicates == 1
    finally:
        hub.close()
