"""`parkhub hj212 decode/encode` functions."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from parkhub.protocols.hj212 import decode_lines, encode_from_json, parse_frame

Load = Callable[..., bytes]


def test_decode_a_receiver_log(frame_bytes: Load) -> None:
    log = (
        b"[2020-09-23 11:34:53]\n" + frame_bytes("modbus_swapped_crc_a6ec", crlf=False) + b"\n"
        b"[2020-09-23 11:35:13]\n" + frame_bytes("2051_air_minute", crlf=False) + b"\n"
        b"[2020-09-23 11:35:14]\n" + frame_bytes("bad_crc_1100", crlf=False) + b"\n"
        b"noise ##12 more noise\n"
    )
    rows = list(decode_lines(log))
    assert [r["ok"] for r in rows] == [True, True, False, False]
    modbus, air, bad, two_digits = rows
    assert modbus["crc_ok"] and modbus["crc_variant"] == "modbus-swapped"
    assert modbus["version"] == "2005" and modbus["cp"]["112"] == {"Rtd": "11.285", "Flag": "N"}
    assert air["cn"] == "2051" and air["cn_name"] == "minute data"
    assert air["cp"]["DataTime"] == "20220513162600"
    assert air["cp"]["a21026"] == {"Avg": "6", "Flag": "N"}
    assert air["data_time"] == "2022-05-13T08:26:00+00:00"
    assert air["flag_bits"] == {"version": "2017", "split": False, "ack": False}
    assert air["length"] == 411 and air["error"] is None
    assert bad["crc_ok"] is False and bad["crc"] == "1100" and bad["crc_expected"] == "2D00"
    assert "CRC mismatch" in bad["error"] and bad["mn"] == "Y80110010000010"
    # `##12 ...`: a frame whose length field has two digits is shown, with what is wrong
    assert two_digits["raw"] == "##12 more noise" and "4 decimal digits" in two_digits["error"]
    json.dumps(rows)  # JSON-able as promised


def test_decode_strict_and_unreadable_frames(frame_bytes: Load) -> None:
    (row,) = decode_lines(frame_bytes("flag_9"), tolerant=False)
    assert row["ok"] and row["version"] == "2025" and row["flag_bits"]["version"] == "2025"
    (row,) = decode_lines(frame_bytes("lower_case_crc_cc01"), tolerant=False)
    assert not row["ok"] and "lower case" in row["error"] and row["crc_ok"] is False
    (row,) = decode_lines(frame_bytes("bad_length_2081").decode())
    assert not row["ok"] and "137 bytes" in row["error"] and "cp" not in row
    assert list(decode_lines("no frames here")) == []


def test_decode_shows_translated_codes_and_warnings(frame_bytes: Load) -> None:
    (row,) = decode_lines(frame_bytes("2005_water_old_codes_2940"))
    assert row["source_codes"]["w01018"] == "011" and row["qn"] is None
    assert any("FLAG" in w for w in row["warnings"])


@pytest.mark.parametrize("name", ["annex_a_1062", "2051_air_minute", "2011_flue_gas_zs_8701"])
def test_encode_from_decoded_json_gives_the_same_bytes(frame_bytes: Load, name: str) -> None:
    (row,) = decode_lines(frame_bytes(name))
    assert encode_from_json(json.loads(json.dumps(row))) == frame_bytes(name)


def test_encode_from_a_hand_written_object() -> None:
    raw = encode_from_json(
        {
            "st": "32",
            "cn": "2011",
            "pw": "123456",
            "mn": "33030200000001",
            "flag": 5,
            "cp": {"DataTime": "20260301100000", "w01018": {"Rtd": 12.5, "Flag": "N"}},
        }
    )
    frame = parse_frame(raw)
    assert frame.qn is not None and len(frame.qn) == 17 and frame.needs_ack
    assert frame.cp.factors["w01018"] == {"Rtd": "12.5", "Flag": "N"}
    legacy = encode_from_json(
        {
            "qn": None,
            "flag": None,
            "st": "32",
            "cn": "2011",
            "pw": "1",
            "mn": "M",
            "cp": "DataTime=20260301100000;011-Rtd=1",
            "crc_variant": "modbus-swapped",
        }
    )
    assert parse_frame(legacy, tolerant=True).cp.factors["w01018"] == {"Rtd": "1"}


def test_encode_reports_what_is_missing() -> None:
    with pytest.raises(ValueError, match="pw, mn"):
        encode_from_json({"st": "32", "cn": "2011"})
    with pytest.raises(ValueError, match="flag must be an integer"):
        encode_from_json({"st": "32", "cn": "2011", "pw": "1", "mn": "M", "flag": "x"})
    with pytest.raises(ValueError, match="crc_variant"):
        encode_from_json({"st": "32", "cn": "2011", "pw": "1", "mn": "M", "crc_variant": "ccitt"})
