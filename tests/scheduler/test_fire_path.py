"""A smoke alarm pushed by CTWing reaches the fire platform within one dispatcher cycle."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.sandbox import ctwing_sim
from parkhub.sandbox.fire_sim import FireSim
from parkhub.sandbox.server import serve_in_thread
from parkhub.web.app import create_app

TOKEN = "ctwing-path-token-fire"


@pytest.fixture
def wired(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Hub, str, FireSim]]:
    monkeypatch.setenv("PARKHUB_TEST_CTWING_TOKEN", TOKEN)
    monkeypatch.setenv("PARKHUB_TEST_FIRE_KEY", "demo-fire-key")
    fire = FireSim()
    with serve_in_thread(fire.app) as fire_server:
        config = parse_config(
            {
                "parks": [{"id": "p1", "name": "测试园区", "division_code": "330302"}],
                "sources": [
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
                                        "when": {
                                            2: {"severity": "critical"},
                                            0: {"status": "closed"},
                                        },
                                    }
                                },
                                "devices": [
                                    {
                                        "vendor_ids": [ctwing_sim.SMOKE_DEVICE],
                                        "device_id": "smoke-3F-01",
                                        "device_type": "smoke_detector",
                                    }
                                ],
                            },
                        },
                    }
                ],
                "platforms": [
                    {
                        "name": "fire",
                        "type": "fire",
                        "reports": ["fire_events"],
                        "config": {
                            "base_url": fire_server.url,
                            "api_key": "env:PARKHUB_TEST_FIRE_KEY",
                        },
                    }
                ],
            }
        )
        hub = Hub.open(config, url=db_url)
        with serve_in_thread(create_app(hub)) as web:
            yield hub, web.url, fire
        hub.close()


def test_alarm_is_in_the_fire_outbox_and_sent_in_one_cycle(wired: tuple[Hub, str, FireSim]) -> None:
    hub, url, fire = wired
    with ctwing_sim.PushSender(f"{url}/push/ctwing/ctwing-lc", TOKEN) as sender:
        assert sender.send().status_code == 200
    [delivery] = hub.store.outbox.deliveries(platform="fire")
    assert delivery["status"] == "pending" and delivery["priority"] == 0
    stats = hub.dispatch(until_idle=False)  # one dispatcher cycle
    assert stats.sent == 1
    [accepted] = fire.accepted.values()
    assert accepted.payload  # the alarm as the fire platform received it


def test_fast_lane_sends_the_alarm_without_a_dispatch_call(wired: tuple[Hub, str, FireSim]) -> None:
    hub, url, fire = wired
    hub.start_fast_lane()
    with ctwing_sim.PushSender(f"{url}/push/ctwing/ctwing-lc", TOKEN) as sender:
        started = time.monotonic()
        sender.send()
    while not fire.accepted and time.monotonic() - started < 5:
        time.sleep(0.005)
    assert len(fire.accepted) == 1
