"""The example YAML vendor (examples/vendors/smartpark.vendor.yaml), with no Python written for
it, pulled by a real hub from the loopback simulator into a real database: every stream, then
from the saved cursors; refused credentials and a vendor that goes down mid-pull lose nothing.
Then the kit on it, as an integrator would run it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from parkhub.adapters.vendors.base import SourceContext
from parkhub.adapters.vendors.rest import RestAdapter
from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.sandbox.server import ServerHandle
from parkhub.sandbox.smartpark_sim import DEMO_KEY, SmartParkSim
from parkhub.testing import PullSuite, VendorAdapterSuite, loopback
from tests.helpers import guide_commands

from .conftest import EXAMPLE, ROOT, spec_of

SOURCE = "smartpark-lc"
FIRST = {"enterprise": 12, "measurement": 159, "event": 6}


def _hub(db_url: str, server: ServerHandle, secret: str = "env:SP_SECRET") -> Hub:
    config = parse_config({
        "parks": [{"id": "p1", "name": "鹿城智造小微企业园", "division_code": "330302"}],
        "sources": [{"name": SOURCE, "vendor": "rest", "park": "p1",
                     "schedule": {"every_seconds": 300},
                     "config": {"spec": str(EXAMPLE), "base_url": server.url,
                                "app_key": DEMO_KEY, "app_secret": secret}}],
    })  # fmt: skip
    return Hub.open(config, url=db_url)


@pytest.fixture
def hub(db_url: str, server: ServerHandle) -> Iterator[Hub]:
    hub = _hub(db_url, server)
    yield hub
    hub.close()


def _counts(hub: Hub) -> dict[str, int]:
    counts = hub.store.records.counts(park_id="p1")
    return {k: n for k, n in counts.items() if k in FIRST}


def _params(sim: SmartParkSim, path: str) -> list[dict[str, str]]:
    return [p for got, p in sim.requests if got.endswith(path)]


def test_the_example_spec_is_40_lines_or_fewer_and_no_python_is_written_for_it() -> None:
    assert len(EXAMPLE.read_text(encoding="utf-8").splitlines()) <= 40
    assert not list(EXAMPLE.parent.rglob("*.py"))


def test_a_sync_pulls_every_stream_into_the_store_with_its_cursors(
    hub: Hub, sim: SmartParkSim
) -> None:
    [result] = hub.sync()
    assert result.failure is None
    assert _counts(hub) == FIRST
    assert result.new == sum(FIRST.values())
    [error] = result.errors  # one meter sent no number: that reading fails alone
    assert str(error) == "[smartpark-lc] readings#80 value: 应为数字 (must be a number, got '--')"
    cursors = {s: hub.store.cursors.get(SOURCE, s) for s in ("enterprises", "readings", "alarms")}
    assert cursors == {
        "enterprises": "2026-09-30 18:00:00",
        "readings": "160",
        "alarms": "2026-10-06 09:35:00",
    }
    row = hub.store.records.get("event", "smartpark-lc:AL000001")
    assert row is not None
    alarm = json.loads(row["doc"])
    assert (alarm["event_kind"], alarm["ts"]) == ("fire_alarm", "2026-10-01T01:00:00Z")  # 09:00


def test_the_next_sync_resumes_from_the_saved_cursors(hub: Hub, sim: SmartParkSim) -> None:
    hub.sync()
    sim.requests.clear()
    sim.add_readings(5)
    sim.add_alarm(dt.datetime(2026, 10, 20, 8, 0))
    sim.touch_enterprise(0, "2026-10-15 09:00:00", name="温州市鹿城区鸿图鞋业股份有限公司")
    [result] = hub.sync()
    assert result.failure is None
    assert (result.new, result.changed) == (6, 1)  # 5 readings and an alarm; one renamed
    assert _params(sim, "meter-readings")[0]["sinceId"] == "160"
    assert _params(sim, "alarms")[0]["startTime"] == "2026-10-06 09:35:00"
    assert _params(sim, "enterprises")[0]["updatedAfter"] == "2026-09-30 18:00:00"
    assert hub.store.cursors.get(SOURCE, "readings") == "165"
    assert hub.store.cursors.get(SOURCE, "enterprises") == "2026-10-15 09:00:00"


def test_refused_credentials_store_nothing_and_say_why(db_url: str, server: ServerHandle) -> None:
    hub = _hub(db_url, server, secret="env:SP_WRONG")
    try:
        [result] = hub.sync()
        assert result.failure is not None
        assert "[smartpark-lc] GET /openapi/v1/enterprises: 认证失败" in result.failure
        assert "code=40101 签名错误" in result.failure
        assert _counts(hub) == {} and hub.store.cursors.get(SOURCE, "enterprises") is None
    finally:
        hub.close()


def test_a_5xx_is_retried_and_a_vendor_down_mid_pull_loses_nothing(
    hub: Hub, sim: SmartParkSim
) -> None:
    sim.fail_next("http_503")  # once: retried after a short wait
    [result] = hub.sync()
    assert result.failure is None and _counts(hub) == FIRST

    sim.add_readings(150)  # two pages of readings
    sim.fail_next("http_503", times=3, after=2)  # the vendor goes down after a page
    [down] = hub.sync()
    assert down.failure is not None and "暂时失败 (transient: HTTP 503" in down.failure
    assert down.new == 100  # the page before the outage is stored, with its cursor
    assert hub.store.cursors.get(SOURCE, "readings") == "260"

    [resumed] = hub.sync()  # the next sync resumes there
    assert resumed.failure is None and resumed.new == 50
    assert _counts(hub)["measurement"] == FIRST["measurement"] + 150


def test_a_business_error_is_permanent_and_not_retried(hub: Hub, sim: SmartParkSim) -> None:
    sim.fail_next("error")
    [result] = hub.sync()
    assert result.failure is not None and "业务错误 (business error: HTTP 200 code=40001" in (
        result.failure
    )
    assert len(sim.requests) == 1


def test_the_example_runs_as_pytest_tests_through_the_kit_plugin() -> None:
    """The guide's first green test of a YAML vendor (`console yaml-vendor`: `pytest
    examples/vendors`): the spec and its captured samples, no Python (the kit's plugin)."""
    [[pytest_, *args]] = guide_commands("yaml-vendor")
    assert pytest_ == "pytest"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 passed" in done.stdout


class TestSmartParkKit(VendorAdapterSuite, PullSuite):
    """The kit on the example: the vendor suite on its samples, the pull suite on the
    simulator (retries made quick)."""

    adapter = RestAdapter
    config: ClassVar[dict[str, Any]] = {
        "spec": spec_of(EXAMPLE, retry={"wait_s": 0.01, "max_wait_s": 0.05}),
        "base_url": "http://127.0.0.1:9",  # the fake's, where the pull suite runs
        "app_key": DEMO_KEY,
        "app_secret": "env:SP_SECRET",
    }
    samples = EXAMPLE.with_name("smartpark")
    park_id = "kit-park"
    source = SourceContext("smartpark-test", "kit-park")  # as the plugin names it
    bad_credentials: ClassVar[dict[str, Any]] = {"app_secret": "env:SP_WRONG"}
    business_error: ClassVar[dict[str, Any]] = {"code": 40001, "msg": "参数错误", "data": None}
    busy_error: ClassVar[dict[str, Any]] = {"code": 50001, "msg": "系统繁忙", "data": None}

    def fake_vendor(self) -> Any:
        sim = SmartParkSim()
        return loopback(sim.app, lambda: sim.add_readings(5))
