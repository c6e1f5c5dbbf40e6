"""The sandbox platform and logger simulators, including the thread wrapper for sync code."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import replace

import pytest

from parkhub.protocols.hj212 import Hj212Uplink, data_frame, encode_frame, parse_frame
from parkhub.sandbox.hj212_platform import Hj212Platform, Hj212PlatformThread, send_frames

Load = Callable[..., bytes]


def test_thread_wrapper_serves_sync_code(frame_bytes: Load) -> None:
    annex_a = parse_frame(frame_bytes("annex_a_1062"))
    other = encode_frame(replace(annex_a, qn="20260101000000001"))
    with Hj212PlatformThread() as platform:
        answers = send_frames("127.0.0.1", platform.port, [frame_bytes("annex_a_1062")] * 2)
        assert [a.cn for a in answers] == ["9014", "9014"]
        assert len(platform.received) == 1  # the same MN+QN+CN twice counts once
        # Strict: a lower-case CRC is rejected and not answered (the logger waits for nothing).
        lower = frame_bytes("annex_a_1062").replace(b"&&1C80", b"&&1c80")
        assert send_frames("127.0.0.1", platform.port, [lower], answer_timeout=0.2) == []
        assert "lower case" in platform.rejected[0][1]
        platform.set_mode("refuse", times=1, qn_rtn=3)
        (refusal,) = send_frames("127.0.0.1", platform.port, [other])
        assert (refusal.cn, refusal.cp.get("QnRtn"), refusal.qn) == (
            "9011",
            "3",
            "20260101000000001",
        )
        assert len(platform.received) == 1
        (accepted,) = send_frames("127.0.0.1", platform.port, [other])  # back to normal
        assert accepted.cn == "9014" and len(platform.received) == 2


def test_thread_wrapper_works_with_an_async_uplink_in_another_loop() -> None:
    frame = data_frame(
        "2011",
        st="31",
        mn="M1",
        pw="123456",
        data_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        factors={"a21026": {"Rtd": 3.2, "Flag": "N"}},
    )

    async def upload(port: int) -> str:
        async with Hj212Uplink("127.0.0.1", port, timeout=2) as uplink:
            return (await uplink.send(frame)).cn

    with Hj212PlatformThread() as platform:
        assert asyncio.run(upload(platform.port)) == "9014"
        assert platform.received[0].cp.factors["a21026"] == {"Rtd": "3.2", "Flag": "N"}


def test_platform_refuses_non_loopback_addresses() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Hj212Platform(host="192.0.2.10")
    with pytest.raises(ValueError, match="loopback"):
        send_frames("192.0.2.10", 1, [])


def test_platform_answers_only_frames_that_ask(frame_bytes: Load) -> None:
    async def main() -> None:
        async with Hj212Platform() as platform:
            from parkhub.sandbox.hj212_platform import run_logger

            answers = await run_logger(
                "127.0.0.1",
                platform.port,
                [frame_bytes("2051_air_minute"), frame_bytes("annex_a_1062")],
            )
            assert [a.qn for a in answers] == [parse_frame(frame_bytes("annex_a_1062")).qn]
            assert len(platform.received) == 2 and platform.rejected == []

    asyncio.run(main())
