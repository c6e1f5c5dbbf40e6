"""`parkhub hj212 decode` and `encode` on the command line: every frame found is one JSON object,
readable or not; SM4 keys are given by reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parkhub.cli import app
from parkhub.protocols.hj212 import command_frame, encode_frame
from tests.helpers import FIXTURES

KEY_HEX = "0123456789abcdeffedcba9876543210"


def fixture(name: str) -> bytes:
    return (FIXTURES / "hj212" / f"{name}.txt").read_bytes().strip() + b"\r\n"


def test_decode_prints_every_frame_it_finds_including_unreadable_ones(tmp_path: Path) -> None:
    log = tmp_path / "rx.log"
    log.write_bytes(
        b"[12:00:01] " + fixture("2051_air_minute") + b"[12:00:02] ##12QN=1;ST=22;CN=2011\r\n"
        b"[12:00:03] " + fixture("bad_crc_4981") + b"[12:00:04] " + fixture("flag_9")
    )
    result = CliRunner().invoke(app, ["hj212", "decode", str(log)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["ok"] for r in rows] == [True, False, False, True]
    assert rows[1]["error_reason"] == "length" and "4 decimal digits" in rows[1]["error"]
    assert rows[2]["error_reason"] == "crc" and rows[2]["crc_ok"] is False
    assert rows[3]["version"] == "2025" and rows[0]["st_name"] == "air quality"


def test_decode_and_encode_with_an_sm4_key_by_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGGER_SM4", KEY_HEX)
    frame = command_frame("2011", st="32", mn="M1", pw="123456", cp="DataTime=20260105100000")
    capture = tmp_path / "cap.log"
    capture.write_bytes(encode_frame(frame, sm4_key=bytes.fromhex(KEY_HEX)))
    [locked] = [
        json.loads(x)
        for x in CliRunner().invoke(app, ["hj212", "decode", str(capture)]).output.splitlines()
    ]
    assert not locked["ok"] and locked["error_reason"] == "encrypted" and locked["mn"] == "M1"
    result = CliRunner().invoke(
        app, ["hj212", "decode", "--sm4-key", "env:LOGGER_SM4", str(capture)]
    )
    [row] = [json.loads(line) for line in result.output.splitlines()]
    assert row["ok"] and row["encrypted"] and row["cp"]["DataTime"] == "20260105100000"
    assert KEY_HEX not in result.output
    again = CliRunner().invoke(
        app, ["hj212", "encode", "--sm4-key", "env:LOGGER_SM4", "-"], input=json.dumps(row) + "\n"
    )
    assert again.stdout_bytes == capture.read_bytes()
    refused = CliRunner().invoke(app, ["hj212", "decode", "--sm4-key", KEY_HEX, str(capture)])
    assert refused.exit_code != 0 and KEY_HEX not in refused.output
