"""The HJ 212 source: real frames by default, strict per logger, SM4 keys per logger, heartbeats
as liveness, what is kept with each frame for operators."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from parkhub.adapters.vendors.base import ParseResult, RawMessage, SourceContext
from parkhub.adapters.vendors.hj212 import Hj212Adapter, Hj212Config, listener_meta
from parkhub.canonical import EnvironmentalData, Event, EventKind, Measurement
from parkhub.protocols.hj212 import (
    FrameError,
    ReceivedFrame,
    command_frame,
    crc16,
    data_frame,
    encode_frame,
    heartbeat_frame,
    parse_frame,
)
from tests.helpers import hj212_corpus

KEY_HEX = "0123456789abcdeffedcba9876543210"  # the GB/T 32907 Annex A test key
KEY = bytes.fromhex(KEY_HEX)
MN = "010000A8900016F000169DC0"
AT = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HJ212_TEST_SM4_KEY", KEY_HEX)
    monkeypatch.setenv("HJ212_SHORT_KEY", "1234")


def make(**config: Any) -> Hj212Adapter:
    return Hj212Adapter(SourceContext("hj212-lc", "p1"), Hj212Config.model_validate(config))


def parse(adapter: Hj212Adapter, raw: bytes) -> ParseResult:
    return adapter.parse_message(RawMessage("hj212-lc", "frame", raw, received_at=AT))


def upload(**kw: Any) -> Any:
    return data_frame(
        "2061",
        st="32",
        mn=MN,
        pw="123456",
        data_time=AT,
        factors={"w01018": {"Avg": "23.5", "Flag": "N"}},
        version="2025",
        **kw,
    )


@pytest.mark.parametrize("case", hj212_corpus(), ids=lambda c: c.name)
def test_real_frames_by_default(case: Any) -> None:
    """What real loggers send is read by a source configured with nothing but defaults; what
    is broken is refused with the field at fault."""
    result = parse(make(), case.raw)
    if case.expect == "ok":
        assert result.errors == [], [str(e) for e in result.errors]
        assert all(w.reason for w in result.warnings)
    else:
        [error] = result.errors
        expected = {"crc": "CRC", "length": "length", "mn": "MN"}[case.expect]
        assert (error.field, result.records) == (expected, [])


def test_a_quirky_frame_says_what_was_forgiven() -> None:
    [case] = [c for c in hj212_corpus() if c.name == "2061_air_pw24_c181"]
    result = parse(make(), case.raw)
    assert result.errors == [] and len(result.records) == 6
    frame_warnings = [w for w in result.warnings if w.field == "frame"]
    assert frame_warnings and "PW has 24 characters" in frame_warnings[0].reason
    assert frame_warnings[0].record.startswith("MN=Z13401000010301 ")


def test_strict_is_a_per_logger_option() -> None:
    [case] = [c for c in hj212_corpus() if c.name == "lower_case_crc_cc01"]
    mn = "Y80110010000010"
    assert parse(make(), case.raw).errors == []
    strict = make(devices={mn: {"strict": True}})
    [error] = parse(strict, case.raw).errors
    assert error.field == "CRC" and "lower case" in error.reason
    assert parse(make(strict=True, devices={mn: {"strict": False}}), case.raw).errors == []
    # the former names still mean what they meant
    assert make(tolerant=False).config.strict_for(mn)
    assert not make(tolerant=False, devices={mn: {"tolerant": True}}).config.strict_for(mn)


def test_a_2025_upload_reads_in_strict_mode_too() -> None:
    raw = encode_frame(upload())
    for adapter in (make(), make(strict=True)):
        result = parse(adapter, raw)
        assert result.errors == [] and result.warnings == []
        env = next(r for r in result.records if isinstance(r, EnvironmentalData))
        assert env.factors == {"w01018": {"Avg": "23.5", "Flag": "N"}} and env.ts == AT


def test_sm4_cp_without_a_key_is_refused_naming_the_device_and_read_with_one() -> None:
    raw = encode_frame(upload(), sm4_key=KEY)
    assert b"w01018" not in raw  # the CP went encrypted
    [error] = parse(make(), raw).errors
    assert error.field == "CP" and MN in error.record and MN in error.reason
    assert "SM4" in error.reason and error.source == "hj212-lc"
    keyed = make(devices={MN: {"sm4_key": "env:HJ212_TEST_SM4_KEY", "device_id": "cod-1"}})
    result = parse(keyed, raw)
    assert result.errors == []
    cod = next(r for r in result.records if isinstance(r, Measurement))
    assert (cod.device_id, cod.metric, cod.value) == ("cod-1", "cod", 23.5)


def test_the_wrong_key_is_said_to_be_wrong() -> None:
    raw = encode_frame(upload(), sm4_key=KEY)
    other = "fedcba98765432100123456789abcdef"
    with pytest.raises(FrameError, match="right one") as caught:
        parse_frame(raw, tolerant=True, sm4_key=bytes.fromhex(other))
    assert caught.value.reason == "sm4" and caught.value.frame is not None


def test_sm4_keys_are_secrets_and_checked_at_load() -> None:
    config = Hj212Config.model_validate({"devices": {MN: {"sm4_key": "env:HJ212_TEST_SM4_KEY"}}})
    assert KEY_HEX not in repr(config) and config.sm4_key_for(MN) == KEY
    with pytest.raises(ValidationError, match="env:NAME"):
        Hj212Config.model_validate({"devices": {MN: {"sm4_key": KEY_HEX}}})  # not a reference
    with pytest.raises(ValidationError, match="32 hex digits") as short:
        Hj212Config.model_validate({"devices": {MN: {"sm4_key": "env:HJ212_SHORT_KEY"}}})
    assert "1234" not in str(short.value)


def test_a_heartbeat_is_the_loggers_liveness() -> None:
    adapter = make(devices={MN: {"device_id": "logger-1"}})
    first = heartbeat_frame(st="32", mn=MN, pw="123456", qn="20260105100000000")
    later = heartbeat_frame(st="32", mn=MN, pw="123456", qn="20260105100100000")
    [beat] = parse(adapter, encode_frame(first)).records
    [again] = parse(adapter, encode_frame(later)).records
    assert isinstance(beat, Event) and isinstance(again, Event)
    assert beat.event_kind is EventKind.DEVICE_ONLINE and beat.device_id == "logger-1"
    assert beat.key == again.key == "hj212-lc:logger-1:heartbeat"  # one record per logger
    assert again.ts - beat.ts == dt.timedelta(minutes=1)  # its time: the last heartbeat
    assert beat.ts == dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)  # QN is Beijing time
    assert beat.extra is not None and beat.extra["heartbeat"] and beat.extra["version"] == "2025"


def test_a_heartbeat_without_qn_takes_its_data_time_or_its_arrival() -> None:
    [case] = [c for c in hj212_corpus() if c.name == "9015_heartbeat_2005_ms_datatime_8801"]
    [beat] = parse(make(), case.raw).records
    assert isinstance(beat, Event) and beat.ts == dt.datetime(
        2016, 8, 23, 20, 53, 56, tzinfo=dt.UTC
    )
    seg = b"ST=91;CN=9015;PW=123456;MN=M1;Flag=8;CP=&&&&"
    bare = b"##%04d%s%s\r\n" % (len(seg), seg, crc16(seg).encode())
    [beat] = parse(make(), bare).records
    assert isinstance(beat, Event) and beat.ts == AT


def test_new_2025_commands_are_kept_without_records() -> None:
    for cn, cp in (
        ("1001", {"SN": "HW-2025-0001"}),
        ("1013", {}),
        ("2013", {"DataTime": "20260105100000", "v10101": {"Rtd": 1.23}}),
        ("2062", {"DataTime": "20260105100000", "w01018": {"Check": 50.1}}),
        ("2111", {"DataTime": "20260105100000", "g01001": {"Avg": 853.2}}),
    ):
        raw = encode_frame(command_frame(cn, st="31", mn=MN, pw="123456", cp=cp))
        result = parse(make(), raw)
        assert (result.records, result.errors, result.warnings) == ([], [], []), cn


def test_gbk_text_is_read_and_text_in_no_encoding_refused() -> None:
    seg = "QN=20260105100000000;ST=32;CN=3020;PW=123456;MN=M1;Flag=4;CP=&&i13004-Info=温州&&"
    data = seg.encode("gbk")
    gbk = b"##%04d%s%s\r\n" % (len(data), data, crc16(data).encode())
    frame = parse_frame(gbk, tolerant=True)
    assert frame.cp.factors["i13004"]["Info"] == "温州" and frame.encoding == "gbk"
    assert any("GBK" in w for w in frame.warnings) and encode_frame(frame) == gbk
    with pytest.raises(FrameError, match="tolerant mode reads GBK"):
        parse_frame(gbk)
    data = data.replace("温州".encode("gbk"), b"\xff\xfe")
    broken = b"##%04d%s%s\r\n" % (len(data), data, crc16(data).encode())
    [error] = parse(make(), broken).errors
    assert "neither UTF-8 nor GBK" in error.reason and "MN=M1" in error.record


def test_what_is_kept_with_a_frame_for_operators() -> None:
    [case] = [c for c in hj212_corpus() if c.name == "2005_no_qn_flag_7700"]
    frame = parse_frame(case.raw, tolerant=True)
    meta = listener_meta(ReceivedFrame(case.raw, ("10.0.0.9", 5000), AT, frame=frame))
    assert meta["device"] == "88888880000001" and meta["command"] == "2011"
    assert any("no QN" in w for w in meta["warnings"]) and "heartbeat" not in meta
    assert "123456" not in str(meta)  # never the PW
    raw = encode_frame(upload(), sm4_key=KEY)
    with pytest.raises(FrameError) as caught:
        parse_frame(raw, tolerant=True)
    meta = listener_meta(ReceivedFrame(raw, ("10.0.0.9", 5000), AT, error=caught.value))
    assert meta["device"] == MN and meta["command"] == "2061" and "warnings" not in meta
