"""Benchmark: HJ 212 frames parsed per second by `parse_frame` (called by `make bench`)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace
from typing import Any

from parkhub.protocols.hj212 import Frame, data_frame, encode_frame, parse_frame

# The Annex A example frame (tests/fixtures/hj212/annex_a_1062.txt).
ANNEX_A = (
    b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;"
    b"CP=&&RtdInterval=30&&1C80\r\n"
)
# The air-quality minute frame of tests/fixtures/hj212/2051_air_minute.txt, rebuilt.
MINUTE = data_frame(
    "2051",
    st="22",
    mn="JLYP01_AIR01_0001",
    pw="123456",
    data_time=dt.datetime(2022, 5, 13, 8, 26, tzinfo=dt.UTC),
    factors={
        code: {"Avg": value, "Flag": "N"}
        for code, value in [
            ("a21004", 4),
            ("a05024", 63),
            ("a21026", 6),
            ("a21005", 0.427),
            ("a34004", 14),
            ("a34002", 31),
            ("a01007", 1),
            ("a01008", 11),
            ("a01001", 17),
            ("a01002", 85),
            ("a01006", 95),
        ]
    },
    ack=False,
)


def _copies(template: Frame, count: int = 1000) -> list[bytes]:
    return [encode_frame(replace(template, qn=f"2026010100{i:07d}")) for i in range(count)]


def _rate(raws: list[bytes], n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        parse_frame(raws[i % len(raws)])
    return n / (time.perf_counter() - start)


def bench_parse(n: int = 200_000) -> dict[str, Any]:
    """Strict-mode parse rate: `n` simple frames (Annex A, ~110 bytes) and `n // 4` typical
    2051 minute frames (11 factors, ~420 bytes)."""
    simple = _copies(parse_frame(ANNEX_A))
    minute = _copies(MINUTE)
    return {
        "frames": n,
        "simple_frame_bytes": len(simple[0]),
        "simple_frames_per_s": round(_rate(simple, n)),
        "minute_frame_bytes": len(minute[0]),
        "minute_frames_per_s": round(_rate(minute, max(1, n // 4))),
    }


if __name__ == "__main__":
    print(bench_parse())
