"""HJ 212 frames from a data logger over real TCP to canonical Measurements in the store."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.protocols.hj212 import data_frame, encode_frame, parse_frame
from parkhub.sandbox.hj212_platform import send_frames
from parkhub.store import schema as t
from parkhub.web.tcp import TcpListeners
from tests.helpers import FIXTURES

FRAMES = FIXTURES / "hj212"


def frame(name: str) -> bytes:
    return (FRAMES / name).read_bytes().strip() + b"\r\n"


@pytest.fixture
def listening(db_url: str) -> Iterator[tuple[Hub, int]]:
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
                        "devices": {
                            "JLYP01_AIR01_0001": {"device_id": "air-station-1"},
                            "88888881234567": {
                                "tolerant": True,
                                "credit_code": "913303020000000278",
                            },
                            "LOCKED000000001": {"password": "654321"},
                        },
                    },
                }
            ],
        }
    )
    hub = Hub.open(config, url=db_url)
    tcp = TcpListeners(hub)
    ports = tcp.start()
    yield hub, ports["hj212-lc"]
    tcp.stop()
    hub.close()


def _raw(hub: Hub) -> list[dict[str, object]]:
    with hub.store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(t.raw_inbox.select())]


def settled(hub: Hub, count: int) -> list[dict[str, object]]:
    """Frames that ask for no answer are stored after the logger hung up: wait for them."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = _raw(hub)
        if len(rows) >= count and all(r["status"] != "received" for r in rows):
            return rows
        time.sleep(0.02)
    raise AssertionError(f"frames not stored: {_raw(hub)}")


def test_minute_data_becomes_measurements(listening: tuple[Hub, int]) -> None:
    hub, port = listening
    send_frames("127.0.0.1", port, [frame("2051_air_minute.txt")])
    settled(hub, 1)
    docs = {(m["metric"], m["stat"]): m for m in hub.store.records.docs("measurement")}
    so2 = docs[("so2", "avg")]
    assert so2["device_id"] == "air-station-1" and so2["value"] == 6.0
    assert so2["period"] == "minute" and so2["quality"] == "N"
    # DataTime 20220513162600 is Beijing time, the start of the minute
    assert so2["ts"] == "2022-05-13T08:26:00Z"
    assert docs[("pm25", "avg")]["value"] == 14.0
    assert len(docs) == 11
    [raw] = _raw(hub)
    assert raw["status"] == "parsed" and raw["body"] == frame("2051_air_minute.txt")  # as sent


def test_ack_only_after_storing_and_redelivery_is_harmless(listening: tuple[Hub, int]) -> None:
    hub, port = listening
    upload = data_frame(
        "2061",
        st="32",
        mn="LOCKED000000001",
        pw="654321",
        data_time=dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC),
        factors={"w01018": {"Avg": "23.5", "Flag": "N"}, "w21003": {"Avg": "1.25", "Flag": "M"}},
    )
    [answer] = send_frames("127.0.0.1", port, [upload])
    assert answer.cn == "9014" and answer.qn == upload.qn
    send_frames("127.0.0.1", port, [upload])  # the logger missed the answer and resends
    docs = hub.store.records.docs("measurement")
    assert len(docs) == 2
    nh3 = next(d for d in docs if d["metric"] == "ammonia_n")
    assert nh3["quality"] == "M" and nh3["period"] == "hour" and nh3["unit"] == "mg/L"
    assert len(_raw(hub)) == 1


def test_wrong_password_and_bad_crc_are_kept_not_stored(listening: tuple[Hub, int]) -> None:
    hub, port = listening
    wrong = data_frame(
        "2051",
        st="32",
        mn="LOCKED000000001",
        pw="000000",
        data_time=dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC),
        factors={"w01018": {"Avg": "23.5", "Flag": "N"}},
    )
    send_frames("127.0.0.1", port, [wrong, frame("bad_crc_4981.txt")], answer_timeout=0.5)
    raws = sorted(settled(hub, 2), key=lambda r: r["id"])  # type: ignore[arg-type, return-value]
    assert [r["status"] for r in raws] == ["rejected", "rejected"]
    assert "PW" in str(raws[0]["reason"]) and "CRC" in str(raws[1]["reason"])
    assert hub.store.records.counts().get("measurement", 0) == 0


def test_tolerant_logger_with_2005_codes(listening: tuple[Hub, int]) -> None:
    hub, port = listening
    send_frames("127.0.0.1", port, [frame("2005_water_old_codes_2940.txt")], answer_timeout=0.3)
    settled(hub, 1)
    metrics = {m["metric"] for m in hub.store.records.docs("measurement")}
    assert {"cod", "ammonia_n", "ph"} <= metrics  # 011, 060, 001 translated
    cod = next(m for m in hub.store.records.docs("measurement") if m["metric"] == "cod")
    assert cod["credit_code"] == "913303020000000278" and cod["period"] == "instant"


def test_encode_of_a_stored_frame_round_trips() -> None:
    raw = frame("2051_air_minute.txt")
    assert encode_frame(parse_frame(raw)) == raw


def test_cli_decode_and_encode(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from parkhub.cli import app

    log = tmp_path / "rx.log"
    log.write_bytes(b"noise " + frame("2051_air_minute.txt") + frame("bad_crc_4981.txt"))
    result = CliRunner().invoke(app, ["hj212", "decode", str(log)])
    good, bad = (json.loads(line) for line in result.output.splitlines())
    assert good["crc_ok"] is True and good["cn"] == "2051" and good["cp"]["a21026"]["Avg"] == "6"
    assert bad["crc_ok"] is False
    encoded = CliRunner().invoke(app, ["hj212", "encode", "-"], input=json.dumps(good) + "\n")
    assert encoded.stdout_bytes == frame("2051_air_minute.txt")
