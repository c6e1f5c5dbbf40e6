"""Asyncio TCP server for HJ 212 data loggers: frames to a handler, then their answer."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from parkhub.canonical import timeutil
from parkhub.protocols.tcp import Peer, TcpServer

from .codec import (
    MAX_FRAME_BYTES,
    TRANSMISSION,
    Frame,
    FrameError,
    FrameSplitter,
    Reassembler,
    answer_for,
    encode_frame,
    parse_frame,
    peek_mn,
)

log = logging.getLogger(__name__)

FrameKind = Literal["frame", "packet", "reassembled"]


@dataclass(frozen=True, slots=True)
class ReceivedFrame:
    """What the listener hands over: the raw bytes, who sent them, and the frame or the error.

    `kind` is "frame" for an ordinary frame (or an unreadable one: `error` set), "packet" for one
    packet of a split upload, and "reassembled" for the whole upload rebuilt from its packets
    (its `raw` is the packets' bytes joined, `packets` the parsed packets).
    """

    raw: bytes
    peer: tuple[str, int]
    received_at: dt.datetime
    frame: Frame | None = None
    error: FrameError | None = None
    kind: FrameKind = "frame"
    packets: tuple[Frame, ...] = ()

    @property
    def ok(self) -> bool:
        return self.frame is not None


Handler = Callable[[ReceivedFrame], Awaitable[None]]
Tolerance = bool | Callable[[str], bool]
KeyLookup = Callable[[str], bytes | None]


@dataclass(slots=True)
class ListenerStats:
    """Counters since start, for logs and health checks."""

    connections: int = 0
    frames: int = 0
    bad_frames: int = 0
    acks: int = 0
    handler_errors: int = 0
    garbage_bytes: int = 0
    dropped_connections: int = 0
    reassembled: int = 0


class Hj212Listener(TcpServer):
    """TCP server that data loggers (数采仪) connect to.

    Every complete frame is passed to `await handler(ReceivedFrame)`. When the frame asks for an
    answer (Flag bit A) the listener writes the answer with the same QN (9014 to data, 9013 to
    a 9015 heartbeat; `answer_for`), and only after the handler returned: the handler is where
    the raw frame is stored durably, so a logger never sees an answer for data that was not
    kept. If the handler raises, no answer is sent and the logger resends after its timeout.
    Unreadable frames go to the handler with `error` set. Those damaged on the way (CRC, length:
    TRANSMISSION) are never answered, so the logger sends them again; those that arrived intact
    but cannot be read here (SM4 without a key, text in no known encoding) are answered once
    kept: a resend would not help, and the kept frame is parsed again after the fix.

    `tolerant` is a bool or a function of the MN deciding per device; see `parse_frame`.
    `sm4_key` gives a device's SM4 key by MN (HJ 212-2025), or None.
    Connections idle for `idle_timeout` seconds are closed; a connection that sends a frame
    larger than `max_frame_bytes` is logged and dropped. Split packets are answered one by one
    and, once all have arrived, handed over again as one "reassembled" frame.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tolerant: Tolerance = False,
        sm4_key: KeyLookup | None = None,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        idle_timeout: float = 900.0,
        tail_grace: float = 0.5,
        reassembler: Reassembler | None = None,
    ) -> None:
        super().__init__(host, port)
        self.handler = handler
        self.tolerant = tolerant
        self.sm4_key = sm4_key
        self.max_frame_bytes = max_frame_bytes
        self.idle_timeout = idle_timeout
        self.tail_grace = tail_grace
        self.reassembler = reassembler or Reassembler()
        self.stats = ListenerStats()

    async def start(self) -> None:
        """Bind and start accepting loggers."""
        await super().start()
        log.debug("HJ 212 listener on %s:%d", self.host, self.port)

    async def serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer
    ) -> None:
        self.stats.connections += 1
        splitter = FrameSplitter(max_frame_bytes=self.max_frame_bytes)
        while True:
            # A frame complete but for its CR LF is released after a short quiet period.
            untailed = splitter.untailed_frame_ready()
            try:
                async with asyncio.timeout(self.tail_grace if untailed else self.idle_timeout):
                    data = await reader.read(65536)
            except TimeoutError:
                if untailed:
                    for raw in splitter.flush():
                        await self._process(raw, peer, writer)
                    continue
                log.info("closing %s:%d: idle for %.1f s", *peer, self.idle_timeout)
                return
            if not data:
                for raw in splitter.flush():
                    await self._process(raw, peer, writer)
                return
            garbage = splitter.garbage_bytes
            for raw in splitter.feed(data):
                await self._process(raw, peer, writer)
            if splitter.garbage_bytes != garbage:
                self.stats.garbage_bytes += splitter.garbage_bytes - garbage
                log.info(
                    "skipped %d bytes of non-frame data from %s:%d",
                    splitter.garbage_bytes - garbage,
                    *peer,
                )
            if splitter.oversized:
                self.stats.dropped_connections += 1
                log.warning("dropping %s:%d: %s", *peer, splitter.last_oversize)
                return

    async def _process(
        self, raw: bytes, peer: tuple[str, int], writer: asyncio.StreamWriter
    ) -> None:
        now = timeutil.utcnow()
        mn = peek_mn(raw)
        tolerant = self.tolerant(mn) if callable(self.tolerant) else self.tolerant
        key = self.sm4_key(mn) if self.sm4_key is not None and mn else None
        try:
            frame = parse_frame(raw, tolerant=tolerant, sm4_key=key)
        except FrameError as exc:
            self.stats.bad_frames += 1
            log.warning("bad HJ 212 frame from %s:%d (MN %s): %s", *peer, mn or "?", exc)
            kept = await self._deliver(ReceivedFrame(raw, peer, now, error=exc))
            if kept and exc.reason not in TRANSMISSION and exc.frame is not None:
                await self._answer(exc.frame, writer)
            return
        self.stats.frames += 1
        if frame.warnings:
            log.debug("frame from MN %s read with warnings: %s", mn, "; ".join(frame.warnings))
        split = frame.is_split and frame.pnum is not None and frame.pno is not None
        received = ReceivedFrame(raw, peer, now, frame=frame, kind="packet" if split else "frame")
        if not await self._deliver(received):
            return
        await self._answer(frame, writer)
        if split:
            try:
                whole = self.reassembler.add(frame, raw)
            except FrameError as exc:
                log.warning("split packet from %s:%d (MN %s) not usable: %s", *peer, mn, exc)
                return
            if whole is not None:
                self.stats.reassembled += 1
                await self._deliver(
                    ReceivedFrame(
                        b"".join(whole.raws),
                        peer,
                        now,
                        frame=whole.frame,
                        kind="reassembled",
                        packets=whole.packets,
                    )
                )

    async def _answer(self, frame: Frame, writer: asyncio.StreamWriter) -> None:
        answer = answer_for(frame)
        if answer is None:
            return
        writer.write(encode_frame(answer, crc_variant=frame.crc_variant or "hj212"))
        await writer.drain()
        self.stats.acks += 1

    async def _deliver(self, received: ReceivedFrame) -> bool:
        try:
            await self.handler(received)
        except Exception:
            self.stats.handler_errors += 1
            log.exception(
                "handler failed on a frame from %s:%d; not answered, the logger will resend",
                *received.peer,
            )
            return False
        return True
