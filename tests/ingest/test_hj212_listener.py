"""HJ 212 frames from a data logger over real TCP to canonical Measurements in the store."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from parkhub.config import HubConfig, parse_config
from parkhub.hub import Hub
from parkhub.protocols.hj212 import (
    command_frame,
    crc16,
    data_frame,
    encode_frame,
    heartbeat_frame,
    parse_frame,
)
from parkhub.sandbox.hj212_platform import send_frames
from parkhub.store import schema as t
from parkhub.web.tcp import TcpListeners
from tests.helpers import FIXTURES

FRAMES = FIXTURES / "hj212"


def frame(name: str) -> bytes:
    return (FRAMES / name).read_bytes().strip() + b"\r\n"


DEVICES: dict[str, Any] = {
    "JLYP01_AIR01_0001": {"device_id": "air-station-1"},
    "88888881234567": {"tolerant": True, "credit_code": "913303020000000278"},
    "LOCKED000000001": {"password": "654321"},
    "STRICT00000001": {"strict": True},
}


def hj212_config(devices: dict[str, Any] | None = None) -> HubConfig:
    return parse_config(
        {
            "parks": [{"id": "p1", "name": "测试园区", "division_code": "330302"}],
            "sources": [
                {
                    "name": "hj212-lc",
                    "vendor": "hj212",
                    "park": "p1",
                    "config": {"port": 0, "devices": {**DEVICES, **(devices or {})}},
                }
            ],
        }
    )


@contextmanager
def listen(db_url: str, devices: dict[str, Any] | None = None) -> Iterator[tuple[Hub, int]]:
    hub = Hub.open(hj212_config(devices), url=db_url)
    tcp = TcpListeners(hub)
    ports = tcp.start()
    try:
        yield hub, ports["hj212-lc"]
    finally:
        tcp.stop()
        hub.close()


@pytest.fixture
def listening(db_url: str) -> Iterator[tuple[Hub, int]]:
    with listen(db_url) as running:
        yield running


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


# -- HJ 212-2025 and real loggers ------------------------------------------------------------

KEY_HEX = "0123456789abcdeffedcba9876543210"  # the GB/T 32907 Annex A test key
MN25 = "010000A8900016F000169DC0"


def upload_2025(mn: str = MN25, **kw: Any) -> Any:
    return data_frame(
        "2061",
        st="32",
        mn=mn,
        pw="123456",
        data_time=dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC),
        factors={"w01018": {"Avg": "23.5", "Flag": "N"}, "w21003": {"Avg": "1.25", "Flag": "N"}},
        version="2025",
        **kw,
    )


def test_2025_upload_heartbeat_and_new_commands_into_the_store(
    listening: tuple[Hub, int],
) -> None:
    hub, port = listening
    upload = upload_2025()
    beat = heartbeat_frame(st="32", mn=MN25, pw="123456", ack=True)
    new_commands = [
        command_frame(cn, st=st, mn=MN25, pw="123456", cp=cp, ack=True)
        for cn, st, cp in (
            ("1001", "32", {"SN": "HW-0001"}),
            ("1013", "32", {}),
            ("2013", "27", {"DataTime": "20260105100000", "v10101": {"Rtd": 1.23}}),
            ("2062", "32", {"DataTime": "20260105100000", "w01018": {"Check": 50.1}}),
            ("2111", "31", {"DataTime": "20260105100000", "g01001": {"Avg": 853.2}}),
        )
    ]
    answers = send_frames("127.0.0.1", port, [upload, beat, *new_commands])
    # answers speak 2025 (Flag=8) and carry the request's QN; a heartbeat gets the notice answer
    assert [(a.cn, a.flag, a.qn) for a in answers] == [
        ("9014", 8, upload.qn),
        ("9013", 8, beat.qn),
        *(("9014", 8, f.qn) for f in new_commands),
    ]
    rows = settled(hub, 7)
    assert all(r["status"] == "parsed" for r in rows)
    assert sorted(r["body"] for r in rows) == sorted(
        encode_frame(f) for f in [upload, beat, *new_commands]
    )
    cod = next(m for m in hub.store.records.docs("measurement") if m["metric"] == "cod")
    assert cod["value"] == 23.5 and cod["period"] == "hour" and cod["device_id"] == f"hj212:{MN25}"
    [liveness] = hub.store.records.docs("event")
    assert liveness["event_kind"] == "device_online" and liveness["extra"]["heartbeat"]
    [device] = hub.status()["devices"]
    assert (device["device"], device["frames"], device["warned"], device["rejected"]) == (
        MN25,
        7,
        0,
        0,
    )
    assert device["last_heartbeat"] is not None


def test_heartbeats_without_qn_are_each_a_sign_of_life(listening: tuple[Hub, int]) -> None:
    hub, port = listening
    seg = b"ST=32;CN=9015;PW=123456;MN=HB0000000001;Flag=8;CP=&&&&"
    beat = b"##%04d%s%s\r\n" % (len(seg), seg, crc16(seg).encode())
    send_frames("127.0.0.1", port, [beat], answer_timeout=0.2)
    settled(hub, 1)
    time.sleep(0.01)
    send_frames("127.0.0.1", port, [beat], answer_timeout=0.2)  # the same bytes again
    rows = settled(hub, 2)
    assert len(rows) == 2 and all(r["status"] == "parsed" for r in rows)
    [device] = hub.status()["devices"]
    assert device["frames"] == 2 and device["last_heartbeat"] == device["last_seen"]


def test_sm4_without_a_key_is_kept_answered_and_read_after_the_key_is_configured(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HJ212_LOGGER_KEY", KEY_HEX)
    upload = upload_2025()
    raw = encode_frame(upload, sm4_key=bytes.fromhex(KEY_HEX))
    with listen(db_url) as (hub, port):
        # answered once kept: a resend would not help, and nothing is lost
        [answer] = send_frames("127.0.0.1", port, [raw])
        assert (answer.cn, answer.qn) == ("9014", upload.qn)
        [row] = settled(hub, 1)
        assert row["status"] == "rejected" and MN25 in str(row["reason"])
        assert "SM4" in str(row["reason"]) and row["body"] == raw  # kept as sent
        assert hub.store.records.counts().get("measurement", 0) == 0
        [device] = hub.status()["devices"]
        assert device["rejected"] == 1 and MN25 in device["last_error"]
    with listen(db_url, {MN25: {"sm4_key": "env:HJ212_LOGGER_KEY"}}) as (hub, port):
        [result] = hub.reparse()
        assert result.status == "parsed"
        values = {m["metric"]: m["value"] for m in hub.store.records.docs("measurement")}
        assert values == {"cod": 23.5, "ammonia_n": 1.25}
        # and a keyed logger's next frames are read as they come
        later = upload_2025(qn="20260105110000000")
        [answer] = send_frames(
            "127.0.0.1", port, [encode_frame(later, sm4_key=bytes.fromhex(KEY_HEX))]
        )
        assert answer.cn == "9014"
        assert settled(hub, 2)[-1]["status"] == "parsed"


def test_intact_frames_are_kept_past_the_refused_allowance_damaged_ones_are_not(
    db_url: str,
) -> None:
    """A logger whose SM4 key is not configured yet sends real data all day: every frame is
    kept for the reparse. Damaged frames (garbage, a wrong CRC) from the same address are
    kept only within the refused-traffic allowance."""
    config = hj212_config().model_dump(mode="json")
    config["limits"] = {"push": {"refused_per_address": 2}}
    hub = Hub.open(parse_config(config), url=db_url)
    tcp = TcpListeners(hub)
    port = tcp.start()["hj212-lc"]
    try:
        sm4 = [
            encode_frame(upload_2025(qn=f"2026010510{i:02d}00000"), sm4_key=bytes.fromhex(KEY_HEX))
            for i in range(5)
        ]
        answers = send_frames("127.0.0.1", port, sm4)
        assert len(answers) == 5  # each answered once kept
        damaged = [frame("bad_crc_4981.txt").replace(b"=36.91", b"=36.8%d" % i) for i in range(5)]
        send_frames("127.0.0.1", port, damaged, answer_timeout=0.2)
        rows = settled(hub, 7)
        time.sleep(0.3)  # nothing more arrives
        rows = _raw(hub)
        kept_sm4 = [r for r in rows if "SM4" in str(r["reason"])]
        kept_damaged = [r for r in rows if "CRC" in str(r["reason"])]
        assert len(kept_sm4) == 5 and {bytes(r["body"]) for r in kept_sm4} == set(sm4)
        assert len(kept_damaged) == 2  # limits.push.refused_per_address
    finally:
        tcp.stop()
        hub.close()


def test_real_quirks_are_read_by_default_with_a_warning_per_device(
    listening: tuple[Hub, int],
) -> None:
    hub, port = listening
    frames = [
        frame("long_segment_1025.txt"),  # > 1024 bytes, CRC-16/MODBUS low byte first
        frame("lower_case_crc_cc01.txt"),
        frame("2051_air_minute.txt"),  # nothing to forgive
    ]
    send_frames("127.0.0.1", port, frames, answer_timeout=0.2)
    rows = settled(hub, 3)
    assert all(r["status"] == "parsed" for r in rows)
    devices = {d["device"]: d for d in hub.status()["devices"]}
    assert devices["88888880000001"]["warned"] == 1
    assert "at most 1024" in devices["88888880000001"]["last_warning"]
    assert "lower case" in devices["Y80110010000010"]["last_warning"]
    assert devices["JLYP01_AIR01_0001"]["warned"] == 0


def test_refused_stays_refused_by_default(listening: tuple[Hub, int]) -> None:
    hub, port = listening
    seg = (
        b"QN=20220814021304000;ST=22;CN=2011;PW=123456;MN=;Flag=5;"
        b"CP=&&DataTime=20220814021304;a50001-Rtd=0.00,a50001-Flag=B&&"
    )  # a real noise station's frame (corpus: 2011_noise_empty_mn_06c0)
    empty_mn = b"##%04d%s%s\r\n" % (len(seg), seg, crc16(seg).encode())
    answers = send_frames(
        "127.0.0.1",
        port,
        [empty_mn, frame("bad_crc_4981.txt"), frame("bad_length_2081.txt"), lower_case_crc()],
        answer_timeout=0.3,
    )
    assert answers == []  # none is answered: a resend (or fixing the logger) is the way out
    rows = sorted(settled(hub, 4), key=lambda r: int(str(r["id"])))
    assert [r["status"] for r in rows] == ["rejected"] * 4
    empty, crc, length, strict = (str(r["reason"]) for r in rows)
    assert "MN is empty" in empty and "CRC mismatch" in crc and "length" in length
    assert "lower case" in strict  # the logger set to strict
    assert set(hub.store.records.counts()) == {"park"}  # the configured park, no data


def lower_case_crc() -> bytes:
    """A frame of the strict logger whose CRC, in lower case, has a letter."""
    for second in range(60):
        raw = encode_frame(
            command_frame(
                "1062",
                st="32",
                mn="STRICT00000001",
                pw="100000",
                cp={"RtdInterval": 30},
                qn=f"20260105100000{second:03d}",
                version="2017",
                ack=True,
            )
        )
        if raw[-6:-2] != raw[-6:-2].lower():
            return raw[:-6] + raw[-6:].lower()
    raise AssertionError("no CRC with a letter")
