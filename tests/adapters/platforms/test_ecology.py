"""HJ 212 in, HJ 212 out: a logger's upload reaches the ecology platform as an HJ 212 frame."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.protocols.hj212 import data_frame
from parkhub.sandbox.hj212_platform import Hj212PlatformThread, send_frames
from parkhub.web.tcp import TcpListeners

UPLOAD = data_frame(
    "2051",
    st="32",
    mn="LOGGER0000000001",
    pw="123456",
    data_time=dt.datetime(2026, 11, 1, 0, 5, tzinfo=dt.UTC),
    factors={
        "w01018": {"Avg": "23.5", "Flag": "N"},
        "w21003": {"Avg": "1.25", "Flag": "N"},
        "w00000": {"Cou": "12.0", "Flag": "N"},
    },
)


KEY_HEX = "0123456789abcdeffedcba9876543210"  # the GB/T 32907 Annex A test key


@pytest.fixture
def chain(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Hub, int, Hj212PlatformThread]]:
    with relay(db_url, monkeypatch) as running:
        yield running


@contextmanager
def relay(
    db_url: str, monkeypatch: pytest.MonkeyPatch, **ecology: Any
) -> Iterator[tuple[Hub, int, Hj212PlatformThread]]:
    """A logger -> parkhub -> ecology platform chain; `ecology` adds to the platform's config
    (`standard`, the device's `sm4_key`); the loopback platform holds the device's key."""
    monkeypatch.setenv("PARKHUB_TEST_ECOLOGY_PW", "987654")
    monkeypatch.setenv("PARKHUB_TEST_ECOLOGY_SM4", KEY_HEX)
    device: dict[str, Any] = {"mn": "33030200ECO00001", "password": "env:PARKHUB_TEST_ECOLOGY_PW"}
    if ecology.pop("sm4_key", False):
        device["sm4_key"] = "env:PARKHUB_TEST_ECOLOGY_SM4"
    keys = {"33030200ECO00001": bytes.fromhex(KEY_HEX)}
    with Hj212PlatformThread(keys=keys) as platform:
        config = parse_config(
            {
                "parks": [{"id": "p1", "name": "测试园区", "division_code": "330302"}],
                "sources": [
                    {
                        "name": "hj212-lc",
                        "vendor": "hj212",
                        "park": "p1",
                        "config": {
                            "port": 0,
                            "devices": {"LOGGER0000000001": {"device_id": "ww-outlet-1"}},
                        },
                    }
                ],
                "platforms": [
                    {
                        "name": "ecology",
                        "type": "ecology",
                        "reports": ["monitoring_data"],
                        "config": {
                            "host": "127.0.0.1",
                            "port": platform.port,
                            "timeout_seconds": 0.5,
                            "retries": 1,
                            "devices": {"ww-outlet-1": device},
                            **ecology,
                        },
                        "retry": {"short_retries": 0, "base_seconds": 0.1},
                    }
                ],
            }
        )
        hub = Hub.open(config, url=db_url)
        tcp = TcpListeners(hub)
        port = tcp.start()["hj212-lc"]
        try:
            yield hub, port, platform
        finally:
            tcp.stop()
            hub.close()


def test_upload_is_relayed_as_an_hj212_frame(chain: tuple[Hub, int, Hj212PlatformThread]) -> None:
    hub, port, platform = chain
    [answer] = send_frames("127.0.0.1", port, [UPLOAD])
    assert answer.cn == "9014"
    stats = hub.dispatch()
    assert stats.sent == 1
    [frame] = platform.received
    assert frame.cn == "2051" and frame.mn == "33030200ECO00001" and frame.pw == "987654"
    assert frame.cp.values["DataTime"] == "20261101080500"  # Beijing time
    assert frame.cp.factors["w01018"] == {"Avg": "23.5", "Flag": "N"}
    assert frame.cp.factors["w00000"] == {"Cou": "12.0", "Flag": "N"}
    [sent] = hub.store.outbox.deliveries(status=["sent"])
    assert sent["receipt_id"] == f"33030200ECO00001/{frame.qn}/2051"
    assert "987654" not in (sent["payload"] or "")  # the password goes on the wire only


def test_platform_silence_is_retried_and_the_retry_is_kept_once(
    chain: tuple[Hub, int, Hj212PlatformThread],
) -> None:
    hub, port, platform = chain
    send_frames("127.0.0.1", port, [UPLOAD])
    platform.set_mode("drop", times=2)  # receives, never answers (both uplink tries)
    stats = hub.dispatch()
    assert stats.failed == 1
    [failed] = hub.store.outbox.deliveries(status=["failed"])
    assert "no answer to QN" in failed["last_error"]
    time.sleep(0.3)
    stats = hub.dispatch()
    assert stats.sent == 1
    assert len(platform.received) == 1  # the same QN each time: kept once
    assert platform.platform.duplicates >= 1


def test_refusal_is_permanent(chain: tuple[Hub, int, Hj212PlatformThread]) -> None:
    hub, port, platform = chain
    send_frames("127.0.0.1", port, [UPLOAD])
    platform.set_mode("refuse", times=1, qn_rtn=3)  # PW error
    stats = hub.dispatch()
    assert stats.dead == 1
    [dead] = hub.store.outbox.deliveries(status=["dead"])
    assert "refused" in dead["last_error"]


def test_unregistered_device_is_dead_with_a_reason(
    chain: tuple[Hub, int, Hj212PlatformThread],
) -> None:
    hub, port, platform = chain
    other = data_frame(
        "2061",
        st="32",
        mn="UNKNOWN000000009",
        pw="123456",
        data_time=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        factors={"w01018": {"Avg": "20", "Flag": "N"}},
    )
    send_frames("127.0.0.1", port, [other])
    stats = hub.dispatch()
    assert stats.dead == 1 and platform.received == []
    [dead] = hub.store.outbox.deliveries(status=["dead"])
    assert (
        "设备未在生态环境平台登记" in dead["last_error"]
        and "hj212:UNKNOWN000000009" in dead["last_error"]
    )


@pytest.mark.parametrize("sm4_key", [True, False], ids=["sm4", "plain"])
def test_a_2025_platform_gets_2025_frames(
    db_url: str, monkeypatch: pytest.MonkeyPatch, sm4_key: bool
) -> None:
    with relay(db_url, monkeypatch, standard="2025", sm4_key=sm4_key) as (hub, port, platform):
        send_frames("127.0.0.1", port, [UPLOAD])  # a 2017 logger: the platform speaks 2025
        assert hub.dispatch().sent == 1
        [frame] = platform.received
        assert (frame.flag, frame.version, frame.encrypted) == (9, "2025", sm4_key)
        assert frame.cp.factors["w01018"] == {"Avg": "23.5", "Flag": "N"}  # as read, decrypted
        [wire] = [r for r in platform.platform.raw if b"CN=2051" in r]
        assert (b"w01018" in wire) is not sm4_key  # encrypted on the wire, or plain
        [sent] = hub.store.outbox.deliveries(status=["sent"])
        receipt = str(sent["receipt"])
        assert '"standard":"2025"' in receipt.replace(" ", "")
        assert KEY_HEX not in receipt and KEY_HEX not in (sent["payload"] or "")


def test_a_2017_platform_keeps_2017(chain: tuple[Hub, int, Hj212PlatformThread]) -> None:
    hub, port, platform = chain
    upload_2025 = data_frame(
        "2061",
        st="32",
        mn="LOGGER0000000001",
        pw="123456",
        data_time=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        factors={"w01018": {"Avg": "20", "Flag": "N"}},
        version="2025",
    )
    send_frames("127.0.0.1", port, [upload_2025])  # a 2025 logger: the platform speaks 2017
    assert hub.dispatch().sent == 1
    [frame] = platform.received
    assert (frame.flag, frame.version, frame.encrypted) == (5, "2017", False)
