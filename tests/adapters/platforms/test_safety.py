"""应急管理 platform: only hidden dangers and incidents, HMAC-signed sends, rectification status
updates, error classes, and the hub delivering them to the simulator over real HTTP."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from parkhub.adapters.platforms.safety import SafetyConfig, SafetyPlatform
from parkhub.canonical import Event
from parkhub.config import parse_config
from parkhub.errors import PermanentDeliveryError, TransientDeliveryError
from parkhub.hub import Hub
from parkhub.mappings.engine import load_mapping
from parkhub.sandbox.safety_sim import SafetySim
from parkhub.sandbox.server import ServerHandle, serve_in_thread
from parkhub.schemas.loader import payload_validator
from tests.helpers import FIXTURES

GOLDEN = FIXTURES / "golden"
SECRET_ENV = "PARKHUB_TEST_SAFETY_SECRET"
SECRET = "safety-sandbox-secret-91c2"
PARK = "wz-lc-0001"
SPEC = SafetyPlatform.reports["hazards"]


def golden(case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = json.loads((GOLDEN / f"{case}.canonical.json").read_text(encoding="utf-8"))
    payload = json.loads((GOLDEN / f"{case}.payload.json").read_text(encoding="utf-8"))
    return doc, payload


def event(kind: str, n: int = 1, **kw: Any) -> Event:
    data: dict[str, Any] = {
        "park_id": PARK,
        "event_id": f"test:{kind}:{n}",
        "event_kind": kind,
        "ts": dt.datetime(2026, 10, 5, 6, 22, 10, tzinfo=dt.UTC),
        "title": f"{kind} {n}",
    }
    return Event.model_validate({**data, **kw})


@pytest.mark.parametrize("case", ["safety_hidden_danger_open", "safety_incident_closed_update"])
def test_golden_payloads(case: str) -> None:
    doc, expected = golden(case)
    payload = load_mapping(SPEC.mapping).apply(doc)
    assert payload == expected
    assert SPEC.schema is not None
    assert list(payload_validator(SPEC.schema).iter_errors(payload)) == []


def test_the_report_takes_only_hidden_dangers_and_incidents() -> None:
    taken = {k for k in ("hidden_danger", "incident") if SPEC.accepts(event(k))}
    assert taken == {"hidden_danger", "incident"}
    for kind in ("fire_alarm", "fire_fault", "alarm", "fault", "device_online", "device_offline"):
        assert not SPEC.accepts(event(kind)), kind
        assert not SPEC.accepts(event(kind).document()), kind
    assert SPEC.accepts(golden("safety_hidden_danger_open")[0])


@pytest.fixture
def sim() -> Iterator[tuple[SafetySim, ServerHandle]]:
    s = SafetySim(api_key="lc-park", api_secret=SECRET)
    with serve_in_thread(s.app) as handle:
        yield s, handle


def make_platform(
    url: str, monkeypatch: pytest.MonkeyPatch, secret: str = SECRET
) -> SafetyPlatform:
    monkeypatch.setenv(SECRET_ENV, secret)
    return SafetyPlatform(
        SafetyConfig.model_validate(
            {
                "base_url": url,
                "api_key": "lc-park",
                "api_secret": f"env:{SECRET_ENV}",
                "timeout_seconds": 2,
            }
        )
    )


@pytest.fixture
def platform(
    sim: tuple[SafetySim, ServerHandle], monkeypatch: pytest.MonkeyPatch
) -> Iterator[SafetyPlatform]:
    p = make_platform(sim[1].url, monkeypatch)
    yield p
    p.close()


def test_send_returns_the_receipt_and_repeats_are_dropped(
    sim: tuple[SafetySim, ServerHandle], platform: SafetyPlatform
) -> None:
    _, payload = golden("safety_hidden_danger_open")
    first = platform.send("hazards", payload, "ph1-key-1")
    assert first.receipt_id.startswith("YJ") and not first.duplicate
    again = platform.send("hazards", payload, "ph1-key-1")  # new nonce, same idempotency key
    assert again.receipt_id == first.receipt_id and again.duplicate
    assert sim[0].payloads("hazards") == [payload]
    assert sim[0].hazards[payload["hazardNo"]] == payload


def test_status_updates_keep_the_latest_revision(
    sim: tuple[SafetySim, ServerHandle], platform: SafetyPlatform
) -> None:
    _, payload = golden("safety_hidden_danger_open")
    closed = {**payload, "rectifyStatus": "2", "rectifyStatusName": "已整改", "revision": 3}
    rectifying = {**payload, "rectifyStatus": "1", "rectifyStatusName": "整改中", "revision": 2}
    for n, p in enumerate((payload, closed, rectifying)):  # revision 2 arrives late
        platform.send("hazards", p, f"ph1-{n}")
    assert sim[0].hazards[payload["hazardNo"]]["rectifyStatusName"] == "已整改"


@pytest.mark.parametrize(
    ("mode", "error", "text"),
    [
        ("503", TransientDeliveryError, "HTTP 503"),
        ("busy", TransientDeliveryError, "30001"),
        ("business", PermanentDeliveryError, "20002"),
    ],
)
def test_failures_are_classified(
    sim: tuple[SafetySim, ServerHandle],
    platform: SafetyPlatform,
    mode: str,
    error: type[Exception],
    text: str,
) -> None:
    _, payload = golden("safety_incident_closed_update")
    sim[0].fail(mode)
    with pytest.raises(error, match=text):
        platform.send("hazards", payload, "ph1-x")
    assert platform.send("hazards", payload, "ph1-x").receipt_id.startswith("YJ")


def test_wrong_secret_is_a_permanent_signature_error(
    sim: tuple[SafetySim, ServerHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_platform(sim[1].url, monkeypatch, secret="not-the-secret")
    _, payload = golden("safety_hidden_danger_open")
    try:
        with pytest.raises(PermanentDeliveryError) as err:
            platform.send("hazards", payload, "ph1-x")
    finally:
        platform.close()
    assert "10001" in str(err.value) and "not-the-secret" not in str(err.value)
    assert sim[0].accepted == {}


# -- end to end through the hub ---------------------------------------------------------------


@pytest.fixture
def hub(
    db_url: str, sim: tuple[SafetySim, ServerHandle], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Hub]:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    config = parse_config(
        {
            "parks": [{"id": PARK, "name": "鹿城智造小微企业园", "division_code": "330302"}],
            "platforms": [
                {
                    "name": "safety",
                    "type": "safety",
                    "config": {
                        "base_url": sim[1].url,
                        "api_key": "lc-park",
                        "api_secret": f"env:{SECRET_ENV}",
                    },
                    "reports": ["hazards"],
                    "retry": {"short_retries": 0, "base_seconds": 0.1},
                }
            ],
        }
    )
    h = Hub.open(config, url=db_url)
    yield h
    h.close()


def test_hub_delivers_hazards_and_their_rectification(
    hub: Hub, sim: tuple[SafetySim, ServerHandle]
) -> None:
    doc, expected = golden("safety_hidden_danger_open")
    danger = Event.model_validate({k: v for k, v in doc.items() if k != "_meta"})
    incident = event("incident", severity="critical", status="rectifying")
    hub.ingest_records([danger, incident], source="test")
    assert hub.dispatch().sent == 2
    assert sim[0].hazards[danger.event_id] == expected
    assert sim[0].hazards[incident.event_id]["rectifyStatusName"] == "整改中"
    assert sim[0].hazards[incident.event_id]["reportTypeName"] == "生产安全事故"

    # rectified: the status change is a new revision, sent as an update
    hub.ingest_records([danger.model_copy(update={"status": "closed"})], source="test")
    hub.dispatch()
    latest = sim[0].hazards[danger.event_id]
    assert (latest["rectifyStatusName"], latest["isCorrection"], latest["revision"]) == (
        "已整改",
        1,
        2,
    )
    assert hub.status()["platforms"]["safety"] == {
        "sent": 3, "pending": 0, "failed": 0, "dead": 0, "superseded": 0
    }  # fmt: skip


def test_other_event_kinds_get_no_delivery(hub: Hub, sim: tuple[SafetySim, ServerHandle]) -> None:
    others = [event(k) for k in ("fire_alarm", "alarm", "device_offline", "device_online", "info")]
    result = hub.ingest_records([*others, event("hidden_danger")], source="test")
    assert result.deliveries == 1
    hub.dispatch()
    assert [p["hazardNo"] for p in sim[0].payloads("hazards")] == ["test:hidden_danger:1"]
    assert hub.status()["platforms"]["safety"]["dead"] == 0
