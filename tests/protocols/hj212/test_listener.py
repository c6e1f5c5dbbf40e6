"""The data-logger listener over real TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace

import pytest

from parkhub.protocols.hj212 import (
    Frame,
    FrameSplitter,
    Hj212Listener,
    ReceivedFrame,
    encode_frame,
    parse_frame,
)
from parkhub.sandbox.hj212_platform import run_logger

Load = Callable[..., bytes]
HOST = "127.0.0.1"


class Recorder:
    def __init__(self) -> None:
        self.items: list[ReceivedFrame] = []

    async def __call__(self, received: ReceivedFrame) -> None:
        self.items.append(received)

    async def wait(self, count: int, timeout: float = 2.0) -> None:
        """Until `count` frames were handled (a logger may hang up before they are read)."""
        async with asyncio.timeout(timeout):
            while len(self.items) < count:
                await asyncio.sleep(0.01)


def upload(frame_bytes: Load, qn: str, *, mn: str = "010000A8900016F000169DC0") -> Frame:
    """The Annex A frame (Flag=5: answer wanted) with another QN/MN."""
    return replace(parse_frame(frame_bytes("annex_a_1062")), qn=qn, mn=mn)


async def read_frames(reader: asyncio.StreamReader, count: int, timeout: float) -> list[Frame]:
    splitter = FrameSplitter()
    out: list[Frame] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while len(out) < count and (data := await reader.read(4096)):
                out += [parse_frame(raw, tolerant=True) for raw in splitter.feed(data)]
    return out


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


def test_frame_split_across_reads_is_answered_with_its_qn(frame_bytes: Load) -> None:
    async def main() -> None:
        rec = Recorder()
        async with Hj212Listener(rec) as listener:
            answers = await run_logger(
                HOST, listener.port, [frame_bytes("annex_a_1062")], split_every=7, pause=0.005
            )
        assert [a.cn for a in answers] == ["9014"]
        assert answers[0].qn == "20160801085857223" and answers[0].flag == 4
        assert [r.raw for r in rec.items] == [frame_bytes("annex_a_1062")]
        assert rec.items[0].ok and rec.items[0].kind == "frame" and rec.items[0].peer[0] == HOST

    asyncio.run(main())


def test_glued_frames_are_all_answered_in_order(frame_bytes: Load) -> None:
    async def main() -> None:
        rec = Recorder()
        frames = [upload(frame_bytes, f"2026010100000000{i}") for i in range(3)]
        async with Hj212Listener(rec) as listener:
            answers = await run_logger(HOST, listener.port, frames, glue=True)
        assert [a.qn for a in answers] == [f.qn for f in frames]
        assert [r.raw for r in rec.items] == [encode_frame(f) for f in frames]

    asyncio.run(main())


def test_garbage_between_frames_is_skipped(frame_bytes: Load) -> None:
    async def main() -> None:
        rec = Recorder()
        frames = [upload(frame_bytes, f"2026010100000000{i}") for i in range(2)]
        async with Hj212Listener(rec) as listener:
            answers = await run_logger(
                HOST, listener.port, frames, garbage=b"\x00\xffAT+OK\r\n##x#"
            )
            assert listener.stats.garbage_bytes == 2 * len(b"\x00\xffAT+OK\r\n##x#")
        assert len(answers) == 2 and all(r.ok for r in rec.items)

    asyncio.run(main())


def test_oversize_frame_drops_the_connection(
    frame_bytes: Load, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        rec = Recorder()
        async with Hj212Listener(rec, max_frame_bytes=200) as listener:
            reader, writer = await asyncio.open_connection(HOST, listener.port)
            writer.write(frame_bytes("2051_air_minute"))
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), 2) == b""  # closed by the listener
            await close(writer)
            assert listener.stats.dropped_connections == 1
        assert rec.items == []

    with caplog.at_level(logging.WARNING):
        asyncio.run(main())
    assert "limit is 200" in caplog.text


def test_idle_connection_is_closed() -> None:
    async def main() -> None:
        async with Hj212Listener(Recorder(), idle_timeout=0.2) as listener:
            reader, writer = await asyncio.open_connection(HOST, listener.port)
            assert await asyncio.wait_for(reader.read(), 2) == b""
            await close(writer)

    asyncio.run(main())


def test_answer_is_written_only_after_the_handler_returns(frame_bytes: Load) -> None:
    async def main() -> None:
        release = asyncio.Event()
        stored: list[bytes] = []

        async def handler(received: ReceivedFrame) -> None:
            await release.wait()
            stored.append(received.raw)

        async with Hj212Listener(handler) as listener:
            reader, writer = await asyncio.open_connection(HOST, listener.port)
            writer.write(frame_bytes("annex_a_1062"))
            await writer.drain()
            assert await read_frames(reader, 1, 0.3) == []  # still storing: no answer yet
            release.set()
            answers = await read_frames(reader, 1, 2)
            assert stored == [frame_bytes("annex_a_1062")] and answers[0].cn == "9014"
            await close(writer)

    asyncio.run(main())


def test_no_answer_when_the_handler_raises(frame_bytes: Load) -> None:
    async def main() -> None:
        calls: list[ReceivedFrame] = []

        async def handler(received: ReceivedFrame) -> None:
            calls.append(received)
            if len(calls) == 1:
                raise OSError("disk full")

        async with Hj212Listener(handler) as listener:
            reader, writer = await asyncio.open_connection(HOST, listener.port)
            writer.write(frame_bytes("annex_a_1062"))
            await writer.drain()
            assert await read_frames(reader, 1, 0.3) == []
            # The logger resends after its timeout; this time storing works.
            writer.write(frame_bytes("annex_a_1062"))
            await writer.drain()
            assert [a.cn for a in await read_frames(reader, 1, 2)] == ["9014"]
            assert listener.stats.handler_errors == 1 and listener.stats.acks == 1
            await close(writer)

    logging.getLogger("parkhub.protocols.hj212.listener").disabled = True
    try:
        asyncio.run(main())
    finally:
        logging.getLogger("parkhub.protocols.hj212.listener").disabled = False


def test_bad_frame_reaches_the_handler_but_is_not_answered(frame_bytes: Load) -> None:
    async def main() -> None:
        rec = Recorder()
        bad = frame_bytes("annex_a_1062").replace(b"1C80", b"1C81")
        async with Hj212Listener(rec) as listener:
            answers = await run_logger(HOST, listener.port, [bad], answer_timeout=0.3)
            await rec.wait(1)
        assert answers == []
        assert rec.items[0].frame is None and rec.items[0].error is not None
        assert rec.items[0].error.reason == "crc" and rec.items[0].raw == bad

    asyncio.run(main())


def test_split_packets_are_answered_one_by_one_and_reassembled(frame_bytes: Load) -> None:
    async def main() -> None:
        rec = Recorder()
        packets = [frame_bytes("2051_split_pno1_ae41"), frame_bytes("2051_split_pno2_derived")]
        async with Hj212Listener(rec) as listener:
            answers = await run_logger(HOST, listener.port, packets)
            await rec.wait(3)  # the whole upload is handed over after the last answer
        assert [(a.cn, a.qn) for a in answers] == [("9014", "20201029122005355")] * 2
        assert [r.kind for r in rec.items] == ["packet", "packet", "reassembled"]
        whole = rec.items[2]
        assert whole.frame is not None and whole.raw == b"".join(packets)
        assert {"a00000", "a21005", "a21026", "a34013"} <= set(whole.frame.cp.factors)
        assert whole.packets == tuple(r.frame for r in rec.items[:2])

    asyncio.run(main())


def test_fifty_concurrent_loggers(frame_bytes: Load) -> None:
    async def main() -> None:
        rec = Recorder()
        async with Hj212Listener(rec) as listener:
            results = await asyncio.gather(
                *(
                    run_logger(
                        HOST,
                        listener.port,
                        [
                            upload(frame_bytes, f"2026010100000{j:04d}", mn=f"MN{i:03d}")
                            for j in range(2)
                        ],
                        split_every=50,
                        pause=0.001,
                    )
                    for i in range(50)
                )
            )
            assert listener.stats.connections == 50
        assert all(len(answers) == 2 for answers in results)
        assert len(rec.items) == 100 and len({r.frame.mn for r in rec.items if r.frame}) == 50

    asyncio.run(main())


def test_tolerance_can_be_chosen_per_device(frame_bytes: Load) -> None:
    async def main() -> None:
        rec = Recorder()
        frames = [frame_bytes("modbus_swapped_crc_a6ec"), frame_bytes("long_segment_1025")]
        async with Hj212Listener(rec, tolerant=lambda mn: mn == "4201003") as listener:
            await run_logger(HOST, listener.port, frames, answer_timeout=0.2)
            await rec.wait(2)
        assert rec.items[0].ok and rec.items[0].frame is not None
        assert rec.items[0].frame.crc_variant == "modbus-swapped"
        assert not rec.items[1].ok  # MN 88888880000001 is held to the standard

    asyncio.run(main())


def test_answer_uses_the_crc_variant_the_logger_speaks(frame_bytes: Load) -> None:
    async def main() -> None:
        raw = encode_frame(parse_frame(frame_bytes("annex_a_1062")), crc_variant="modbus-swapped")
        async with Hj212Listener(Recorder(), tolerant=True) as listener:
            answers = await run_logger(HOST, listener.port, [raw])
        assert answers[0].crc_variant == "modbus-swapped"

    asyncio.run(main())


def test_last_frame_without_crlf_is_released_after_a_quiet_moment(frame_bytes: Load) -> None:
    async def main() -> None:
        rec = Recorder()
        async with Hj212Listener(rec, tolerant=True, tail_grace=0.1) as listener:
            reader, writer = await asyncio.open_connection(HOST, listener.port)
            writer.write(frame_bytes("missing_crlf", crlf=False))
            await writer.drain()
            answers = await read_frames(reader, 1, 2)
            await close(writer)
        assert [a.cn for a in answers] == ["9014"] and rec.items[0].ok

    asyncio.run(main())


def test_stop_closes_open_connections(frame_bytes: Load) -> None:
    async def main() -> None:
        listener = Hj212Listener(Recorder())
        await listener.start()
        reader, writer = await asyncio.open_connection(HOST, listener.port)
        await asyncio.sleep(0.05)
        await listener.stop()
        assert await asyncio.wait_for(reader.read(), 2) == b""
        await close(writer)
        await listener.stop()  # idempotent

    asyncio.run(main())
