"""The reporting calendar, rebuilds until the deadline, and the priority fast lane."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parkhub.canonical import Enterprise
from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.reports.calendar import deadline_for
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.qisheng_sim import QishengSim
from parkhub.sandbox.server import ServerHandle
from tests.helpers import PERIOD, make_config

NOV_5 = dt.datetime(2026, 11, 5, 2, tzinfo=dt.UTC)
NOV_9 = dt.datetime(2026, 11, 9, 2, tzinfo=dt.UTC)
NOV_12 = dt.datetime(2026, 11, 12, 2, tzinfo=dt.UTC)


def _monthly(hub: Hub, now: dt.datetime) -> dict[str, object]:
    [entry] = [e for e in hub.calendar(now=now) if e.report == "park_monthly"]
    return entry.as_dict()


def test_deadlines() -> None:
    assert deadline_for("2026-10", "monthly", 10) == dt.datetime(
        2026, 11, 10, 15, 59, 59, tzinfo=dt.UTC
    )
    assert deadline_for("2026-12", "monthly", 5).date() == dt.date(2027, 1, 5)
    assert deadline_for("2026-08", "quarterly", 15).date() == dt.date(2026, 10, 15)


def test_calendar_follows_a_report_from_missing_to_delivered(
    hub: Hub, provincial: tuple[ProvincialSim, ServerHandle]
) -> None:
    hub.sync()
    entry = _monthly(hub, NOV_5)
    assert entry["period"] == PERIOD and entry["state"] == "not_built"
    assert entry["deadline"].startswith("2026-11-10T23:59:59+08:00")
    [missing] = entry["missing"]  # the enterprise whose row was rejected
    assert missing["name"] == "温州瓯江电气有限公司"
    assert _monthly(hub, NOV_9)["state"] == "at_risk"  # a day before the deadline
    hub.build_reports(PERIOD)
    assert _monthly(hub, NOV_5)["state"] == "pending"
    assert _monthly(hub, NOV_12)["state"] == "late"
    hub.dispatch()
    assert _monthly(hub, NOV_5)["state"] == "delivered_incomplete"
    status = hub.status()
    assert any(e["report"] == "park_monthly" for e in status["calendar"])


def test_rebuild_runs_until_the_deadline_only(hub: Hub) -> None:
    hub.sync()
    hub.rebuild_until_deadline(now=NOV_12)
    assert hub.store.records.counts().get("park_monthly", 0) == 0
    hub.rebuild_until_deadline(now=NOV_5)
    assert hub.store.records.counts()["park_monthly"] == 1


def test_fast_lane_sends_without_waiting_for_a_tick(
    hub: Hub, provincial: tuple[ProvincialSim, ServerHandle]
) -> None:
    hub.start_fast_lane(max_priority=100)
    try:
        hub.ingest_records(
            [Enterprise(park_id="wz-lc-0001", credit_code="91330302000000019D", name="新企业")],
            source="test",
        )
        deadline = time.monotonic() + 5
        while not provincial[0].accepted and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(provincial[0].accepted) == 1
    finally:
        hub.stop_fast_lane()


def test_cli_calendar_and_platforms(
    hub: Hub, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from parkhub import cli
    from parkhub.cli import app

    monkeypatch.setattr(cli.console, "width", 200)

    path = __import__("pathlib").Path(str(tmp_path)) / "parkhub.yaml"
    path.write_text(yaml.safe_dump(hub.config.model_dump(mode="json"), allow_unicode=True))
    runner = CliRunner()
    result = runner.invoke(app, ["platforms", "--config", str(path)])
    assert result.exit_code == 0 and "park_monthly" in result.output and "monthly" in result.output
    result = runner.invoke(app, ["calendar", "--config", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert {e["report"] for e in __import__("json").loads(result.stdout)} == {"park_monthly"}


def test_a_missing_enterprise_reads_the_same_on_every_report(
    db_url: str,
    qisheng: tuple[QishengSim, ServerHandle],
    provincial: tuple[ProvincialSim, ServerHandle],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The park report and the enterprise report of one period name the same missing
    enterprise in the same words: both delivered, 11 of 12 enterprises with data."""
    monkeypatch.setattr("parkhub.adapters.vendors.qisheng.previous_period", lambda now: PERIOD)
    data = make_config(qisheng[1].url, provincial[1].url, db_url).model_dump(mode="json")
    stats = {"export_dir": str(tmp_path / "stats")}
    data["platforms"].append(
        {"name": "stats", "type": "stats", "config": stats, "reports": ["enterprise_monthly"]}
    )
    hub = Hub.open(parse_config(data), url=db_url)
    try:
        hub.sync()
        hub.build_reports(PERIOD)
        hub.dispatch()
        entries = {e.report: e.as_dict() for e in hub.calendar(now=NOV_5)}
        park, firms = entries["park_monthly"], entries["enterprise_monthly"]
        assert park["state"] == firms["state"] == "delivered_incomplete"
        assert (park["reporting"], park["enterprises"]) == (
            firms["reporting"],
            firms["enterprises"],
        )
        assert (park["reporting"], park["enterprises"]) == (11, 12)
        assert park["missing"] == firms["missing"] and len(park["missing"]) == 1
        assert (park["delivered"], park["expected"]) == (1, 1)
        assert (firms["delivered"], firms["expected"]) == (11, 11)  # every record made was sent
    finally:
        hub.close()
