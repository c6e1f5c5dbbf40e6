"""Push receivers over real HTTP: durable before the answer, no duplicates, forgeries refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.sandbox import ctwing_sim, onenet_sim
from parkhub.sandbox.server import ServerHandle, serve_in_thread
from parkhub.store import schema as t
from parkhub.web.app import create_app

PUSH_TOKEN = "ctwing-path-token-7d1e"
ACME_KEY = "acme-shared-key-0b2f"


@pytest.fixture
def web(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Hub, ServerHandle]]:
    monkeypatch.setenv("PARKHUB_TEST_ONENET_TOKEN", onenet_sim.DEMO_TOKEN)
    monkeypatch.setenv("PARKHUB_TEST_CTWING_TOKEN", PUSH_TOKEN)
    monkeypatch.setenv("PARKHUB_TEST_ACME_KEY", ACME_KEY)
    config = parse_config(
        {
            "parks": [{"id": "p1", "name": "测试园区", "division_code": "330302"}],
            "sources": [
                {
                    "name": "onenet-lc",
                    "vendor": "onenet",
                    "park": "p1",
                    "config": {
                        "token": "env:PARKHUB_TEST_ONENET_TOKEN",
                        "device_map": {
                            "keys": {"datastream_id": {"metric": "temperature", "unit": "degC"}}
                        },
                    },
                },
                {
                    "name": "ctwing-lc",
                    "vendor": "ctwing",
                    "park": "p1",
                    "config": {
                        "push_token": "env:PARKHUB_TEST_CTWING_TOKEN",
                        "device_map": {
                            "keys": {
                                "Alarm_Status": {
                                    "event": "fire_alarm",
                                    "when": {2: {"severity": "critical"}, 0: {"status": "closed"}},
                                }
                            }
                        },
                    },
                },
                {
                    "name": "ctwing-off",
                    "vendor": "ctwing",
                    "park": "p1",
                    "enabled": False,
                    "config": {"push_token": "env:PARKHUB_TEST_CTWING_TOKEN"},
                },
                {
                    "name": "qisheng-lc",
                    "vendor": "qisheng",
                    "park": "p1",
                    "config": {
                        "base_url": "http://127.0.0.1:9",
                        "app_id": "a",
                        "app_secret": "env:PARKHUB_TEST_CTWING_TOKEN",
                    },
                },
                {  # a push vendor from another package
                    "name": "acme-lc",
                    "vendor": "acme",  # the plugin package's entry point
                    "park": "p1",
                    "config": {"key": "env:PARKHUB_TEST_ACME_KEY"},
                },
            ],
        }
    )
    hub = Hub.open(config, url=db_url)
    with serve_in_thread(create_app(hub)) as server:
        yield hub, server
    hub.close()


def _raw(hub: Hub) -> list[dict[str, Any]]:
    with hub.store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t.raw_inbox))]


def test_onenet_url_verification_echoes_msg(web: tuple[Hub, ServerHandle]) -> None:
    hub, server = web
    with onenet_sim.PushSender(f"{server.url}/push/onenet/onenet-lc") as sender:
        r = sender.verify(msg="hello+world/=")
    assert r.status_code == 200 and r.text == "hello+world/="
    assert _raw(hub) == []  # a handshake carries no data


def test_onenet_push_is_stored_once_even_when_redelivered(web: tuple[Hub, ServerHandle]) -> None:
    hub, server = web
    body = onenet_sim.old_body(onenet_sim.DEMO_TOKEN, onenet_sim.OLD_DATAPOINT)
    with onenet_sim.PushSender(f"{server.url}/push/onenet/onenet-lc") as sender:
        first, again = sender.replay(body)
    assert first.status_code == again.status_code == 200
    [raw] = _raw(hub)
    assert raw["status"] == "parsed" and raw["body"] == body
    [m] = hub.store.records.docs("measurement")
    assert (
        m["value"] == 42
        and m["metric"] == "temperature"
        and m["ts"] == "2016-06-17T03:21:46.841000Z"
    )


@pytest.mark.parametrize("attack", ["forged", "tampered", "unsigned", "garbage"])
def test_onenet_bad_pushes_are_refused_and_kept(web: tuple[Hub, ServerHandle], attack: str) -> None:
    hub, server = web
    with onenet_sim.PushSender(f"{server.url}/push/onenet/onenet-lc") as sender:
        r = getattr(sender, attack)()
    assert 400 <= r.status_code < 500
    assert r.json()["msg"]  # a reason the vendor's console shows
    [raw] = _raw(hub)
    assert raw["status"] == "rejected" and raw["reason"]
    assert hub.store.records.counts().get("measurement", 0) == 0


def test_ctwing_smoke_alarm_becomes_a_fire_alarm_event(web: tuple[Hub, ServerHandle]) -> None:
    hub, server = web
    with ctwing_sim.PushSender(f"{server.url}/push/ctwing/ctwing-lc", PUSH_TOKEN) as sender:
        first, again = sender.replay()
        forged = sender.forged()
        unsigned = sender.unsigned()
    assert first.status_code == again.status_code == 200
    assert forged.status_code == 403 and unsigned.status_code == 401
    [event] = hub.store.records.docs("event")
    assert event["event_kind"] == "fire_alarm" and event["severity"] == "critical"
    statuses = sorted(r["status"] for r in _raw(hub))
    assert statuses == ["parsed", "rejected", "rejected"]


def test_unknown_source_or_wrong_vendor_is_404(web: tuple[Hub, ServerHandle]) -> None:
    _, server = web
    with httpx.Client() as client:
        assert client.post(f"{server.url}/push/onenet/nope", content=b"{}").status_code == 404
        assert client.post(f"{server.url}/push/onenet/ctwing-lc", content=b"{}").status_code == 404


def test_every_pushing_source_is_reached_by_its_name_too(web: tuple[Hub, ServerHandle]) -> None:
    hub, server = web
    with onenet_sim.PushSender(f"{server.url}/push/onenet-lc") as sender:
        handshake = sender.verify(msg="hello")
        pushed = sender.old()
    with ctwing_sim.PushSender(f"{server.url}/push/ctwing-lc", PUSH_TOKEN) as sender:
        smoke = sender.send()
        forged = sender.forged()
    assert (handshake.status_code, handshake.text) == (200, "hello")
    assert (pushed.status_code, smoke.status_code, forged.status_code) == (200, 200, 403)
    assert sorted(r["status"] for r in _raw(hub)) == ["parsed", "parsed", "rejected"]
    assert "temperature" in {m["metric"] for m in hub.store.records.docs("measurement")}
    [event] = hub.store.records.docs("event")
    assert event["event_kind"] == "fire_alarm"


def test_methods_an_adapter_does_not_take_are_405_and_not_stored(
    web: tuple[Hub, ServerHandle],
) -> None:
    hub, server = web
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/push/ctwing/ctwing-lc", params={"token": PUSH_TOKEN}).status_code == 405
        refused = client.get("/push/ctwing-lc", params={"token": PUSH_TOKEN})
        assert refused.status_code == 405 and refused.headers["allow"] == "POST"
        assert client.post("/push/acme-lc", content=b"{}").status_code == 405
    assert _raw(hub) == []


def test_sources_that_do_not_push_are_404(web: tuple[Hub, ServerHandle]) -> None:
    _, server = web
    with httpx.Client(base_url=server.url) as client:
        for url in (
            "/push/qisheng-lc",  # pulls only
            "/push/qisheng/qisheng-lc",
            "/push/ctwing-off",  # disabled
            "/push/ctwing/ctwing-off",
            "/push/nope",
            "/push/ctwing/onenet-lc",  # not its vendor
        ):
            assert client.post(url, content=b"{}").status_code == 404, url


def test_a_push_vendor_from_a_plugin_needs_no_change_to_parkhub(
    web: tuple[Hub, ServerHandle],
) -> None:
    hub, server = web
    body = b'{"readings": [{"meter": "M1", "ms": 1790000000000, "kwh": 12.5}]}'
    with httpx.Client(base_url=server.url, headers={"x-acme-key": ACME_KEY}) as client:
        first = client.put("/push/acme-lc", content=body)
        again = client.put("/push/acme/acme-lc", content=body)
        forged = client.put("/push/acme-lc", content=body, headers={"x-acme-key": "guess"})
        openapi = client.get("/openapi.json").json()
    assert (first.status_code, first.text, again.status_code) == (200, "accepted", 200)
    assert forged.status_code == 403
    [m] = hub.store.records.docs("measurement")
    assert (m["device_id"], m["value"]) == ("acme:M1", 12.5)
    assert sorted(r["status"] for r in _raw(hub)) == ["parsed", "rejected"]
    assert list(openapi["paths"]["/push/acme/{source}"]) == ["put"]


def test_status_api_and_metrics(web: tuple[Hub, ServerHandle]) -> None:
    _, server = web
    with ctwing_sim.PushSender(f"{server.url}/push/ctwing/ctwing-lc", PUSH_TOKEN) as sender:
        sender.send()
        sender.forged()

    accounts = web[0].store.accounts
    accounts.create_user("ops", "ops-password-1", role="admin")
    token = accounts.create_api_token("ops")
    with httpx.Client() as client:
        assert client.get(f"{server.url}/api/status").status_code == 401
        status = client.get(
            f"{server.url}/api/status", headers={"Authorization": f"Bearer {token}"}
        ).json()
        metrics = client.get(f"{server.url}/metrics").text
        openapi = client.get(f"{server.url}/openapi.json").json()
    assert status["records"]["event"] == 1
    assert 'parkhub_pushes_total{outcome="accepted",source="ctwing-lc"} 1.0' in metrics
    assert 'parkhub_pushes_total{outcome="rejected",source="ctwing-lc"} 1.0' in metrics
    assert "/push/ctwing/{source}" in openapi["paths"]


def test_pushes_under_load_are_all_stored_and_answered_fast(
    web: tuple[Hub, ServerHandle],
) -> None:
    """100 distinct pushes from 8 senders at once: every one stored, each answered well inside
    OneNET's 5 s timeout (the platform retries anything slower)."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    hub, server = web
    url = f"{server.url}/push/onenet/onenet-lc"
    bodies = [
        onenet_sim.old_body(
            onenet_sim.DEMO_TOKEN,
            onenet_sim.OLD_DATAPOINT.replace("1466133706841", str(1466133706841 + i)),
            nonce=f"n{i:07d}",
        )
        for i in range(100)
    ]

    def send(body: bytes) -> tuple[int, float]:
        started = time.monotonic()
        with httpx.Client(timeout=5.0) as client:
            r = client.post(url, content=body, headers={"content-type": "application/json"})
        return r.status_code, time.monotonic() - started

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, bodies))
    assert [code for code, _ in answers] == [200] * 100
    assert max(seconds for _, seconds in answers) < 4.0
    assert hub.store.records.counts()["measurement"] == 100
