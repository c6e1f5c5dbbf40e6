"""The platform uplink against the sandbox ecology platform on 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from parkhub.protocols.hj212 import (
    Frame,
    FrameSplitter,
    Hj212Uplink,
    UplinkBusy,
    UplinkConnectionError,
    UplinkRefused,
    UplinkTimeout,
    data_frame,
    encode_frame,
    execution_answer_frame,
    parse_frame,
)
from parkhub.sandbox.hj212_platform import Hj212Platform

HOST = "127.0.0.1"


def upload(n: int = 0, *, ack: bool = True) -> Frame:
    return data_frame(
        "2061",
        st="32",
        mn="33030200000001",
        pw="123456",
        data_time=dt.datetime(2026, 3, 1, 2, tzinfo=dt.UTC),
        factors={"w01018": {"Avg": 20 + n, "Flag": "N"}, "w21003": {"Avg": 1.2, "Flag": "N"}},
        qn=f"2026030110000{n:04d}",
        ack=ack,
    )


def test_upload_is_answered_and_recorded() -> None:
    async def main() -> None:
        async with Hj212Platform() as platform:
            async with Hj212Uplink(HOST, platform.port, timeout=2) as uplink:
                answer = await uplink.send(upload())
                second = await uplink.send(upload(1))
            assert (answer.cn, answer.qn) == ("9014", upload().qn)
            assert second.qn == upload(1).qn and uplink.connects == 1
            assert [f.qn for f in platform.received] == [upload().qn, upload(1).qn]
            assert platform.received[0].cp == upload().cp

    asyncio.run(main())


def test_delayed_answer_times_out_then_the_retry_succeeds() -> None:
    async def main() -> None:
        async with Hj212Platform() as platform:
            platform.set_mode("delay", times=1, delay=0.4)
            async with Hj212Uplink(HOST, platform.port, timeout=0.25, retries=2) as uplink:
                answer = await uplink.send(upload())
                assert answer.qn == upload().qn and uplink.attempts >= 2
            assert len(platform.received) == 1 and platform.duplicates == 1

    asyncio.run(main())


def test_dropped_uploads_raise_a_timeout_after_every_retry() -> None:
    async def main() -> None:
        async with Hj212Platform() as platform:
            platform.set_mode("drop")
            async with Hj212Uplink(HOST, platform.port, timeout=0.1, retries=2) as uplink:
                with pytest.raises(UplinkTimeout, match="after 3 attempts"):
                    await uplink.send(upload())
                assert uplink.attempts == 3
            assert len(platform.raw) == 3 and len(platform.received) == 1  # one upload, 3 sends

    asyncio.run(main())


def test_one_drop_then_success() -> None:
    async def main() -> None:
        async with Hj212Platform() as platform:
            platform.set_mode("drop", times=1)
            async with Hj212Uplink(HOST, platform.port, timeout=0.2, retries=3) as uplink:
                assert (await uplink.send(upload())).cn == "9014"
                assert uplink.attempts == 2

    asyncio.run(main())


@pytest.mark.parametrize(("qn_rtn", "reason"), [(2, "request rejected"), (3, "wrong password")])
def test_refusal_is_permanent_and_not_retried(qn_rtn: int, reason: str) -> None:
    async def main() -> None:
        async with Hj212Platform() as platform:
            platform.set_mode("refuse", qn_rtn=qn_rtn)
            async with Hj212Uplink(HOST, platform.port, timeout=1, retries=3) as uplink:
                with pytest.raises(UplinkRefused, match=f"QnRtn={qn_rtn}") as caught:
                    await uplink.send(upload())
                assert uplink.attempts == 1
            assert caught.value.code == qn_rtn and reason in caught.value.reason
            assert caught.value.answer.cn == "9011" and platform.received == []

    asyncio.run(main())


def test_closed_connection_is_reopened_and_the_frame_resent() -> None:
    async def main() -> None:
        async with Hj212Platform() as platform:
            platform.set_mode("close", times=1)
            async with Hj212Uplink(
                HOST, platform.port, timeout=1, retries=2, retry_delay=0.01
            ) as uplink:
                assert (await uplink.send(upload())).cn == "9014"
                assert (uplink.attempts, uplink.connects) == (2, 2)
            assert len(platform.received) == 1

    asyncio.run(main())


def test_unreachable_platform_is_a_transient_connection_error() -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        uplink = Hj212Uplink(HOST, port, timeout=0.5, retries=1, retry_delay=0.01)
        with pytest.raises(UplinkConnectionError, match="after 2 attempts"):
            await uplink.send(upload())
        await uplink.close()

    asyncio.run(main())


def test_busy_answer_is_transient() -> None:
    async def answer_busy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        splitter = FrameSplitter()
        while data := await reader.read(4096):
            for raw in splitter.feed(data):
                writer.write(encode_frame(execution_answer_frame(parse_frame(raw), 5)))
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(answer_busy, HOST, 0)
        async with server, Hj212Uplink(HOST, server.sockets[0].getsockname()[1]) as uplink:
            with pytest.raises(UplinkBusy, match="ExeRtn=5") as caught:
                await uplink.send(upload())
            assert caught.value.exe_rtn == 5

    asyncio.run(main())


def test_send_needs_a_frame_that_asks_for_an_answer() -> None:
    async def main() -> None:
        async with Hj212Platform() as platform:
            async with Hj212Uplink(HOST, platform.port) as uplink:
                with pytest.raises(ValueError, match="Flag bit A"):
                    await uplink.send(upload(ack=False))
                await uplink.send_nowait(upload(ack=False))
                async with asyncio.timeout(2):
                    while not platform.received:
                        await asyncio.sleep(0.01)
            assert [f.flag for f in platform.received] == [4]

    asyncio.run(main())
