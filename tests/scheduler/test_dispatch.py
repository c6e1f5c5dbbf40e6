"""Guarantees 3 and 4: at-least-once with idempotency keys; status, retries, dead, replay."""

from __future__ import annotations

import time
from typing import Any

import pytest

from parkhub.adapters.platforms.base import Receipt
from parkhub.adapters.platforms.provincial import ProvincialPlatform
from parkhub.errors import TransientDeliveryError
from parkhub.hub import Hub
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.qisheng_sim import QishengSim
from parkhub.sandbox.server import ServerHandle
from parkhub.scheduler.dispatcher import Dispatcher
from parkhub.scheduler.platforms import PlatformRuntime, RetrySettings
from parkhub.testing import MockPlatform
from tests.helpers import NO_PAUSE, PERIOD, make_config, make_failed_due

Sims = tuple[ProvincialSim, ServerHandle]


def test_full_cycle_delivers_report_and_roster_with_receipts(hub: Hub, provincial: Sims) -> None:
    hub.sync()
    hub.build_reports(PERIOD)
    stats = hub.dispatch()
    assert stats.sent == 13 and stats.dead == 0
    status = hub.status()["platforms"]["provincial"]
    assert status == {"sent": 13, "pending": 0, "failed": 0, "dead": 0, "superseded": 0}
    sim = provincial[0]
    [report] = sim.by_report("park_monthly")
    assert report.payload["statPeriod"] == "202610"
    assert report.payload["enterpriseNum"] == 12
    assert report.payload["reportingNum"] == 11  # one enterprise's row was rejected
    assert report.payload["isCorrection"] == 0
    sent = hub.store.outbox.deliveries(status=["sent"], limit=100)
    assert all(d["receipt_id"].startswith("ZJ") for d in sent)
    assert {d["receipt_id"] for d in sent} == {a.receipt for a in sim.accepted.values()}
    # proof of what was sent: the payload kept is the payload the platform accepted
    monthly = next(d for d in sent if d["report"] == "park_monthly")
    assert report.payload == __import__("orjson").loads(monthly["payload"])


def test_outage_is_retried_with_backoff_then_delivered(
    db_url: str,
    qisheng: tuple[QishengSim, ServerHandle],
    provincial: Sims,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each delivery meets the outage on its own (no pause: tests/scheduler/test_faults.py
    proves the pause) and backs off."""
    monkeypatch.setattr("parkhub.adapters.vendors.qisheng.previous_period", lambda now: PERIOD)
    config = make_config(qisheng[1].url, provincial[1].url, db_url, limits=NO_PAUSE)
    hub = Hub.open(config, url=db_url)
    try:
        _outage_then_delivered(hub, provincial)
    finally:
        hub.close()


def _outage_then_delivered(hub: Hub, provincial: Sims) -> None:
    hub.sync()
    provincial[0].outage(3600)
    stats = hub.dispatch()
    assert stats.sent == 0 and stats.failed == 12
    failed = hub.store.outbox.deliveries(status=["failed"], limit=100)
    assert all("503" in d["last_error"] and d["attempts"] == 1 for d in failed)
    # backoff: the next attempt is in the future, so an immediate dispatch sends nothing
    assert all(d["next_attempt_at"] > d["updated_at"] for d in failed)
    assert hub.dispatch().claimed == 0
    provincial[0].outage(0)
    make_failed_due(hub)
    stats = hub.dispatch()
    assert stats.sent == 12
    assert hub.status()["platforms"]["provincial"]["failed"] == 0
    assert all(d["attempts"] == 2 for d in hub.store.outbox.deliveries(status=["sent"], limit=100))


def test_dead_after_the_cap_visible_in_status_and_replayable(
    db_url: str,
    qisheng: tuple[QishengSim, ServerHandle],
    provincial: Sims,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("parkhub.adapters.vendors.qisheng.previous_period", lambda now: PERIOD)
    config = make_config(
        qisheng[1].url, provincial[1].url, db_url, NO_PAUSE, max_attempts=3, short_retries=0
    )
    hub = Hub.open(config, url=db_url)
    try:
        hub.sync()
        provincial[0].outage(3600)
        for _ in range(3):
            hub.dispatch()
            make_failed_due(hub)
        status = hub.status()["platforms"]["provincial"]
        assert status["dead"] == 12 and status["failed"] == 0
        dead = hub.store.outbox.deliveries(status=["dead"], limit=100)
        assert all(d["attempts"] == 3 and "503" in d["last_error"] for d in dead)
        provincial[0].outage(0)
        assert hub.replay(platform="provincial", error_contains="503") == 12
        assert hub.dispatch().sent == 12
        assert hub.status()["platforms"]["provincial"]["dead"] == 0
        [audit] = [a for a in hub.store.audit.log() if a["action"] == "replay"]
        assert '"count":12' in audit["detail"]
    finally:
        hub.close()


def test_business_error_inside_http_200_is_permanent(hub: Hub, provincial: Sims) -> None:
    hub.build_reports(PERIOD, allow_empty=True)
    provincial[0].fail("business", times=1)
    stats = hub.dispatch()
    assert stats.dead == 1 and stats.sent == 0
    [dead] = hub.store.outbox.deliveries(status=["dead"])
    assert "2002" in dead["last_error"] and "园区编码不存在" in dead["last_error"]
    assert dead["attempts"] == 1  # permanent: no retries


def test_busy_business_code_is_transient(hub: Hub, provincial: Sims) -> None:
    hub.build_reports(PERIOD, allow_empty=True)
    provincial[0].fail("busy", times=5)
    stats = hub.dispatch()
    assert stats.failed == 1
    [failed] = hub.store.outbox.deliveries(status=["failed"])
    assert "5000" in failed["last_error"]


def test_timeout_is_transient(hub: Hub, provincial: Sims) -> None:
    hub.platforms()["provincial"].platform.config.__dict__["timeout_seconds"] = 0.3
    hub.build_reports(PERIOD, allow_empty=True)
    provincial[0].fail("timeout", times=5, delay=2)
    stats = hub.dispatch()
    assert stats.failed == 1
    [failed] = hub.store.outbox.deliveries(status=["failed"])
    assert "超时" in failed["last_error"]


def test_schema_violation_is_dead_with_the_field_named(hub: Hub, provincial: Sims) -> None:
    # a park configured with a division outside Zhejiang: the payload contract refuses it
    hub.config.parks[0].__dict__["division_code"] = "110101"
    hub.build_reports(PERIOD, allow_empty=True)
    stats = hub.dispatch()
    assert stats.dead == 1 and provincial[0].requests == 0  # refused before sending
    [dead] = hub.store.outbox.deliveries(status=["dead"])
    assert (
        "payload violates provincial/park_monthly.schema.json at divisionCode" in dead["last_error"]
    )
    assert "park_monthly:wz-lc-0001|2026-10@r1" in dead["last_error"]
    assert dead["payload"] is not None  # what would have been sent is kept for the operator


def test_correction_is_delivered_again_as_a_correction(
    hub: Hub, qisheng: tuple[QishengSim, ServerHandle], provincial: Sims
) -> None:
    hub.sync()
    hub.build_reports(PERIOD)
    hub.dispatch()
    # the vendor corrects one enterprise's October tax; the report is rebuilt
    row = next(m for m in qisheng[0].monthly if m["period"] == PERIOD and m["tax"] != 0)
    row["tax"] = round(row["tax"] + 100, 2)
    hub.sync()
    [(_inputs, res)] = hub.build_reports(PERIOD)
    assert res.changed == 1 and res.deliveries == 1
    hub.dispatch()
    reports = sorted(provincial[0].by_report("park_monthly"), key=lambda a: a.payload["revision"])
    assert [r.payload["revision"] for r in reports] == [1, 2]
    assert [r.payload["isCorrection"] for r in reports] == [0, 1]
    assert reports[1].payload["tax"] == pytest.approx(reports[0].payload["tax"] + 100, abs=0.01)


def test_newer_revision_supersedes_an_unsent_one(hub: Hub, provincial: Sims) -> None:
    hub.build_reports(PERIOD, allow_empty=True)
    from parkhub.canonical import Enterprise

    hub.ingest_records(
        [Enterprise(park_id="wz-lc-0001", credit_code="91330302000000019D", name="新入园企业")],
        source="test",
    )
    hub.build_reports(PERIOD, allow_empty=True)  # revision 2 before revision 1 was sent
    stats = hub.dispatch()
    assert stats.sent == 2  # the enterprise and report revision 2 only
    [report] = provincial[0].by_report("park_monthly")
    assert report.payload["revision"] == 2 and report.payload["isCorrection"] == 0
    assert hub.status()["platforms"]["provincial"]["superseded"] == 1


def test_repeat_send_is_dropped_by_the_platform(hub: Hub, provincial: Sims) -> None:
    hub.build_reports(PERIOD, allow_empty=True)
    hub.dispatch()
    [d] = hub.store.outbox.deliveries(status=["sent"])
    # force a second send of the same revision (as after a lost receipt)
    assert hub.replay(ids=[d["id"]], statuses=["sent"]) == 1
    hub.dispatch()
    assert provincial[0].duplicates == 1
    assert len(provincial[0].by_report("park_monthly")) == 1
    [again] = hub.store.outbox.deliveries(status=["sent"])
    assert again["receipt_id"] == d["receipt_id"]


def test_dispatch_runs_deliveries_in_parallel(hub: Hub, provincial: Sims) -> None:
    hub.sync()
    provincial[0].delay_after_accept = 0.2
    started = time.monotonic()
    assert hub.dispatch().sent == 12
    # 12 sends of 0.2 s each would take 2.4 s one after another; 8 at a time take ~0.4 s
    assert time.monotonic() - started < 1.8


# -- the dispatcher alone, against the mock twin of a platform ---------------------------------


def mock_dispatcher(hub: Hub, platform: MockPlatform) -> Dispatcher:
    retry = RetrySettings(short_retries=2, short_wait_seconds=0.01)
    runtime = PlatformRuntime("provincial", platform, retry, ProvincialPlatform.reports)
    return Dispatcher(hub.store, {"provincial": runtime}, concurrency=1)


def test_short_retries_resend_with_the_same_key_and_keep_the_receipt(hub: Hub) -> None:
    calls: list[tuple[str, str]] = []

    def flaky(report: str, payload: Any, key: str) -> Receipt:
        calls.append((report, key))
        if len(calls) < 3:
            raise TransientDeliveryError("provincial: HTTP 503: busy", code="503")
        return Receipt(f"R-{len(calls)}")

    hub.build_reports(PERIOD, allow_empty=True)
    stats = mock_dispatcher(hub, MockPlatform(flaky)).run_until_idle()
    assert stats.sent == 1 and stats.failed == 0
    assert [report for report, _ in calls] == ["park_monthly"] * 3
    assert len({key for _, key in calls}) == 1  # every try carries the delivery's key
    [sent] = hub.store.outbox.deliveries(status=["sent"])
    assert sent["receipt_id"] == "R-3" and sent["attempts"] == 1
    assert sent["idempotency_key"] == calls[0][1]


def test_a_platform_bug_fails_only_its_own_delivery(hub: Hub) -> None:
    keys: list[str] = []

    def buggy(report: str, payload: Any, key: str) -> Receipt:
        keys.append(key)
        if len(keys) == 1:
            raise KeyError("creditCode")  # a bug in the platform, not a DeliveryError
        return Receipt(f"R-{len(keys)}")

    hub.sync()
    stats = mock_dispatcher(hub, MockPlatform(buggy)).run_until_idle()
    assert stats.failed == 1 and stats.sent == 11
    [failed] = hub.store.outbox.deliveries(status=["failed"])
    assert "内部错误 (unexpected KeyError" in failed["last_error"]
    assert failed["idempotency_key"] == keys[0]
    assert failed["next_attempt_at"] is not None  # transient: it is tried again later
