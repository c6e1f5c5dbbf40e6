"""消防 platform: fire alarms, faults and fire devices going offline, API key auth, ack ids, error
classes, latency, and the hub's priority lane delivering an alarm without a dispatch tick."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from parkhub.adapters.platforms.fire import FireConfig, FirePlatform
from parkhub.canonical import Event
from parkhub.config import parse_config
from parkhub.errors import PermanentDeliveryError, TransientDeliveryError
from parkhub.hub import Hub
from parkhub.mappings.engine import load_mapping
from parkhub.sandbox.fire_sim import FireSim
from parkhub.sandbox.server import ServerHandle, serve_in_thread
from parkhub.schemas.loader import payload_validator
from tests.helpers import FIXTURES

GOLDEN = FIXTURES / "golden"
KEY_ENV = "PARKHUB_TEST_FIRE_KEY"
KEY = "fire-sandbox-key-5d81"
PARK = "wz-lc-0001"
SPEC = FirePlatform.reports["fire_events"]


def golden(case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = json.loads((GOLDEN / f"{case}.canonical.json").read_text(encoding="utf-8"))
    payload = json.loads((GOLDEN / f"{case}.payload.json").read_text(encoding="utf-8"))
    return doc, payload


def event(kind: str, n: int = 1, device_type: str | None = None, **kw: Any) -> Event:
    data: dict[str, Any] = {
        "park_id": PARK,
        "event_id": f"test:{kind}:{n}",
        "event_kind": kind,
        "ts": dt.datetime(2026, 11, 5, 6, 22, 10, tzinfo=dt.UTC),
        "device_id": f"dev-{n}",
        "severity": "critical",
        "title": f"{kind} {n}",
    }
    if device_type:
        data["extra"] = {"device_type": device_type}
    return Event.model_validate({**data, **kw})


@pytest.mark.parametrize("case", ["fire_fire_alarm", "fire_device_offline_closed"])
def test_golden_payloads(case: str) -> None:
    doc, expected = golden(case)
    payload = load_mapping(SPEC.mapping).apply(doc)
    assert payload == expected
    assert SPEC.schema is not None
    assert list(payload_validator(SPEC.schema).iter_errors(payload)) == []


def test_the_report_takes_fire_events_and_fire_devices_going_offline() -> None:
    assert SPEC.priority == 0
    assert SPEC.accepts(event("fire_alarm"))
    assert SPEC.accepts(event("fire_fault", device_type="fire_panel"))
    assert SPEC.accepts(event("device_offline", device_type="smoke_detector"))
    assert SPEC.accepts(event("device_offline", device_type="hydrant").document())
    assert not SPEC.accepts(event("device_offline", device_type="electric_meter"))
    assert not SPEC.accepts(event("device_offline"))  # type unknown: not known to be fire
    assert not SPEC.accepts(event("device_online", device_type="smoke_detector"))
    for kind in ("alarm", "fault", "hidden_danger", "incident", "info"):
        assert not SPEC.accepts(event(kind, device_type="smoke_detector")), kind


@pytest.fixture
def sim() -> Iterator[tuple[FireSim, ServerHandle]]:
    s = FireSim(api_key=KEY)
    with serve_in_thread(s.app) as handle:
        yield s, handle


def make_platform(url: str, monkeypatch: pytest.MonkeyPatch, key: str = KEY) -> FirePlatform:
    monkeypatch.setenv(KEY_ENV, key)
    return FirePlatform(
        FireConfig.model_validate(
            {"base_url": url, "api_key": f"env:{KEY_ENV}", "timeout_seconds": 2}
        )
    )


@pytest.fixture
def platform(
    sim: tuple[FireSim, ServerHandle], monkeypatch: pytest.MonkeyPatch
) -> Iterator[FirePlatform]:
    p = make_platform(sim[1].url, monkeypatch)
    yield p
    p.close()


def test_send_returns_the_ack_and_repeats_are_dropped(
    sim: tuple[FireSim, ServerHandle], platform: FirePlatform
) -> None:
    _, payload = golden("fire_fire_alarm")
    first = platform.send("fire_events", payload, "ph1-key-1")
    assert first.receipt_id.startswith("XF") and not first.duplicate
    again = platform.send("fire_events", payload, "ph1-key-1")
    assert again.receipt_id == first.receipt_id and again.duplicate
    assert sim[0].payloads("fire_events") == [payload]


@pytest.mark.parametrize(
    ("mode", "error", "text"),
    [
        ("503", TransientDeliveryError, "HTTP 503"),
        ("busy", TransientDeliveryError, "E500"),
        ("business", PermanentDeliveryError, "E202"),
    ],
)
def test_failures_are_classified(
    sim: tuple[FireSim, ServerHandle],
    platform: FirePlatform,
    mode: str,
    error: type[Exception],
    text: str,
) -> None:
    _, payload = golden("fire_fire_alarm")
    sim[0].fail(mode)
    with pytest.raises(error, match=text):
        platform.send("fire_events", payload, "ph1-x")
    assert platform.send("fire_events", payload, "ph1-x").receipt_id.startswith("XF")


def test_wrong_api_key_is_permanent_and_never_shown(
    sim: tuple[FireSim, ServerHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_platform(sim[1].url, monkeypatch, key="not-the-key-123")
    _, payload = golden("fire_fire_alarm")
    try:
        with pytest.raises(PermanentDeliveryError) as err:
            platform.send("fire_events", payload, "ph1-x")
    finally:
        platform.close()
    assert "401" in str(err.value) and "not-the-key-123" not in str(err.value)


def test_send_latency_over_a_kept_alive_connection(
    sim: tuple[FireSim, ServerHandle], platform: FirePlatform
) -> None:
    _, payload = golden("fire_fire_alarm")
    platform.send("fire_events", payload, "ph1-warm")
    took = []
    for n in range(100):
        started = time.perf_counter()
        platform.send("fire_events", {**payload, "eventId": f"e{n}"}, f"ph1-{n}")
        took.append(time.perf_counter() - started)
    took.sort()
    assert took[98] < 0.25, f"p99 {took[98] * 1000:.1f} ms"  # loopback: a few ms in practice


# -- end to end through the hub ---------------------------------------------------------------


@pytest.fixture
def hub(
    db_url: str, sim: tuple[FireSim, ServerHandle], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Hub]:
    monkeypatch.setenv(KEY_ENV, KEY)
    config = parse_config(
        {
            "parks": [{"id": PARK, "name": "鹿城智造小微企业园", "division_code": "330302"}],
            "platforms": [
                {
                    "name": "fire",
                    "type": "fire",
                    "config": {"base_url": sim[1].url, "api_key": f"env:{KEY_ENV}"},
                    "reports": ["fire_events"],
                    "retry": {"short_retries": 1, "short_wait_seconds": 0.05},
                }
            ],
            "dispatch": {"schedule": {"every_seconds": 3600}},
        }
    )
    h = Hub.open(config, url=db_url)
    yield h
    h.close()


def _doc_record(case: str) -> Event:
    doc, _ = golden(case)
    return Event.model_validate({k: v for k, v in doc.items() if k != "_meta"})


def test_hub_delivers_fire_events(hub: Hub, sim: tuple[FireSim, ServerHandle]) -> None:
    alarm = _doc_record("fire_fire_alarm")
    fault = event("fire_fault", 2, device_type="fire_panel", severity="warning")
    hub.ingest_records([alarm, fault], source="test")
    stats = hub.dispatch()
    assert stats.sent == 2 and stats.dead == 0
    by_id = {p["eventId"]: p for p in sim[0].payloads("fire_events")}
    assert by_id[alarm.event_id] == golden("fire_fire_alarm")[1]
    assert {p["eventTypeName"] for p in sim[0].payloads("fire_events")} == {"火警", "故障"}
    assert hub.status()["platforms"]["fire"] == {
        "sent": 2, "pending": 0, "failed": 0, "dead": 0, "superseded": 0
    }  # fmt: skip
    [d] = [
        d for d in hub.store.outbox.deliveries(status=["sent"]) if d["record_key"] == alarm.event_id
    ]
    assert d["priority"] == 0 and d["receipt_id"].startswith("XF")


def test_priority_lane_sends_an_alarm_without_a_dispatch_tick(
    hub: Hub, sim: tuple[FireSim, ServerHandle]
) -> None:
    hub.start_fast_lane()
    started = time.monotonic()
    hub.ingest_records([event("fire_alarm", 7)], source="test")
    while not sim[0].accepted and time.monotonic() - started < 5:
        time.sleep(0.005)
    assert [p["eventId"] for p in sim[0].payloads("fire_events")] == ["test:fire_alarm:7"]
    assert time.monotonic() - started < 2
    hub.stop_fast_lane()
    deadline = time.monotonic() + 2  # the receipt is recorded right after the ack
    while hub.status()["platforms"]["fire"]["sent"] != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert hub.status()["platforms"]["fire"]["sent"] == 1


def test_outage_is_transient_then_delivered(hub: Hub, sim: tuple[FireSim, ServerHandle]) -> None:
    sim[0].outage(3600)
    hub.ingest_records([event("fire_alarm")], source="test")
    assert hub.dispatch().failed == 1
    sim[0].outage(0)
    hub.replay(actor="test", platform="fire", statuses=["failed"])
    assert hub.dispatch().sent == 1
    assert hub.status()["platforms"]["fire"]["sent"] == 1


def test_other_events_get_no_delivery(hub: Hub, sim: tuple[FireSim, ServerHandle]) -> None:
    others = [
        event("device_offline", 1, device_type="electric_meter"),
        event("device_offline", 2),
        event("alarm", 3, device_type="gas_meter"),
        event("hidden_danger", 4),
    ]
    result = hub.ingest_records([*others, event("fire_alarm", 5)], source="test")
    assert result.deliveries == 1
    hub.dispatch()
    assert [p["eventId"] for p in sim[0].payloads("fire_events")] == ["test:fire_alarm:5"]
