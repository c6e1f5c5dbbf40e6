"""Loopback simulators: an ecology department's HJ 212 platform, and HJ 212 data loggers.

Imports nothing from parkhub but the HJ 212 codec, like a real counterpart would.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import threading
from collections.abc import Iterable, Mapping
from typing import Literal

from parkhub.protocols.hj212.codec import (
    TRANSMISSION,
    Frame,
    FrameError,
    FrameSplitter,
    ack_frame,
    answer_for,
    encode_frame,
    parse_frame,
    peek_mn,
    request_answer_frame,
)
from parkhub.protocols.tcp import Peer, TcpServer

Mode = Literal["ok", "drop", "delay", "refuse", "close"]

__all__ = ["Hj212Platform", "Hj212PlatformThread", "Mode", "run_logger", "send_frames"]


def _loopback(host: str) -> str:
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the sandbox only listens on loopback addresses, not {host!r}")
    return host


class Hj212Platform(TcpServer):
    """A strict HJ 212 platform on 127.0.0.1 that records uploads and answers 9014.

    It speaks HJ 212-2017 and HJ 212-2025 alike (each answer in the version of its request)
    and decrypts SM4-encrypted CP with the key `keys` holds for the frame's MN.

    `received` holds each accepted upload once (dedup by MN+QN+CN, so a retried upload counts
    once), `raw` every frame's bytes as they arrived, `rejected` (bytes, reason) for frames that
    fail strict parsing (not answered). `set_mode` scripts outages for the next `times` frames
    (None: until changed): "drop" reads, records and does not answer; "delay" answers after
    `delay` seconds; "refuse" answers 9011 with `qn_rtn` (2 rejected, 3 wrong PW) and records
    nothing; "close" closes the connection without recording. Thread-safe.
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, keys: Mapping[str, bytes] | None = None
    ) -> None:
        super().__init__(_loopback(host), port)
        self.keys = dict(keys or {})
        self.received: list[Frame] = []
        self.raw: list[bytes] = []
        self.rejected: list[tuple[bytes, str]] = []
        self.duplicates = 0
        self._keys: set[tuple[str, str | None, str]] = set()
        self._mode: Mode = "ok"
        self._times: int | None = None
        self._delay = 1.0
        self._qn_rtn = 2
        self._lock = threading.Lock()

    def set_mode(
        self, mode: Mode = "ok", *, times: int | None = None, delay: float = 1.0, qn_rtn: int = 2
    ) -> None:
        """Behave as `mode` for the next `times` frames (None: until changed), then "ok"."""
        with self._lock:
            self._mode, self._times, self._delay, self._qn_rtn = mode, times, delay, qn_rtn

    def _next_mode(self) -> tuple[Mode, float, int]:
        with self._lock:
            current = (self._mode, self._delay, self._qn_rtn)
            if self._times is not None:
                self._times -= 1
                if self._times <= 0:
                    self._mode, self._times = "ok", None
            return current

    async def serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer
    ) -> None:
        splitter = FrameSplitter()
        while data := await reader.read(65536):
            for raw in splitter.feed(data):
                if not await self._handle(raw, writer):
                    return

    async def _handle(self, raw: bytes, writer: asyncio.StreamWriter) -> bool:
        with self._lock:
            self.raw.append(raw)
        try:
            frame = parse_frame(raw, sm4_key=self.keys.get(peek_mn(raw)))
        except FrameError as exc:
            with self._lock:
                self.rejected.append((raw, str(exc)))
            return True
        mode, delay, qn_rtn = self._next_mode()
        if mode == "close":
            return False
        if mode == "refuse":
            await self._answer(writer, request_answer_frame(frame, qn_rtn))
            return True
        with self._lock:
            if frame.key in self._keys:
                self.duplicates += 1
            else:
                self._keys.add(frame.key)
                self.received.append(frame)
        if mode == "drop" or not frame.needs_ack:
            return True
        if mode == "delay":
            await asyncio.sleep(delay)
        await self._answer(writer, ack_frame(frame))
        return True

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, answer: Frame) -> None:
        writer.write(encode_frame(answer))
        await writer.drain()


class Hj212PlatformThread:
    """`Hj212Platform` running in a background thread with its own event loop, for sync code.

    >>> with Hj212PlatformThread() as platform:  # doctest: +SKIP
    ...     upload_to("127.0.0.1", platform.port)
    ...     assert len(platform.received) == 1
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, keys: Mapping[str, bytes] | None = None
    ) -> None:
        self.platform = Hj212Platform(host=host, port=port, keys=keys)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> Hj212PlatformThread:
        self._thread = threading.Thread(target=self._run, name="hj212-platform", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stopped = asyncio.Event()
            try:
                await self.platform.start()
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            try:
                await self._stopped.wait()
            finally:
                await self.platform.stop()

        asyncio.run(main())

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> Hj212PlatformThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self.platform.port

    @property
    def received(self) -> list[Frame]:
        with self.platform._lock:
            return list(self.platform.received)

    @property
    def rejected(self) -> list[tuple[bytes, str]]:
        with self.platform._lock:
            return list(self.platform.rejected)

    def set_mode(
        self, mode: Mode = "ok", *, times: int | None = None, delay: float = 1.0, qn_rtn: int = 2
    ) -> None:
        self.platform.set_mode(mode, times=times, delay=delay, qn_rtn=qn_rtn)


# --- data logger ---------------------------------------------------------------------------------


async def run_logger(
    host: str,
    port: int,
    frames: Iterable[Frame | bytes],
    *,
    split_every: int | None = None,
    glue: bool = False,
    garbage: bytes = b"",
    answer_timeout: float = 2.0,
    pause: float = 0.01,
) -> list[Frame]:
    """Act as a data logger: connect, send `frames`, return the answers received (in order).

    Without `glue`, frames go one by one and the logger waits up to `answer_timeout` for the
    answer of each frame that asks for one; `split_every=n` writes each frame in n-byte pieces
    with `pause` seconds between them (so they arrive in separate reads). `glue=True` writes all
    frames in one write, then waits for all answers. `garbage` is written before every frame.
    """
    _loopback(host)
    payloads = [encode_frame(f) if isinstance(f, Frame) else bytes(f) for f in frames]
    reader, writer = await asyncio.open_connection(host, port)
    answers: asyncio.Queue[Frame] = asyncio.Queue()
    collected: list[Frame] = []

    async def read_answers() -> None:
        splitter = FrameSplitter()
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                for raw in splitter.feed(data):
                    with contextlib.suppress(FrameError):
                        answers.put_nowait(parse_frame(raw, tolerant=True))

    async def wait_answers(count: int) -> None:
        for _ in range(count):
            try:
                collected.append(await asyncio.wait_for(answers.get(), answer_timeout))
            except TimeoutError:
                return

    reading = asyncio.create_task(read_answers())
    try:
        if glue:
            writer.write(b"".join(garbage + p for p in payloads))
            await writer.drain()
            await wait_answers(sum(_asks_answer(p) for p in payloads))
        else:
            for payload in payloads:
                data = garbage + payload
                step = split_every or len(data)
                for at in range(0, len(data), step):
                    writer.write(data[at : at + step])
                    await writer.drain()
                    if step < len(data):
                        await asyncio.sleep(pause)
                await wait_answers(_asks_answer(payload))
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
    return collected


def _asks_answer(payload: bytes) -> int:
    """Whether a receiving centre answers this frame (readable or kept though unreadable)."""
    try:
        frame = parse_frame(payload, tolerant=True)
    except FrameError as exc:
        if exc.reason in TRANSMISSION or exc.frame is None:
            return 0
        frame = exc.frame
    return int(answer_for(frame) is not None)


def send_frames(
    host: str,
    port: int,
    frames: Iterable[Frame | bytes],
    *,
    split_every: int | None = None,
    glue: bool = False,
    answer_timeout: float = 2.0,
) -> list[Frame]:
    """`run_logger` for sync code (runs its own event loop)."""
    return asyncio.run(
        run_logger(
            host, port, frames, split_every=split_every, glue=glue, answer_timeout=answer_timeout
        )
    )
