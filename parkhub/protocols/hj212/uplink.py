"""HJ 212 (2017 or 2025) client uploading to an ecology-department platform: send, await 9014,
retry."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from .codec import (
    EXE_RTN,
    MAX_FRAME_BYTES,
    QN_RTN,
    CrcVariant,
    Frame,
    FrameError,
    FrameSplitter,
    encode_frame,
    parse_frame,
)

log = logging.getLogger(__name__)


class UplinkError(Exception):
    """Base of every uplink failure."""


class UplinkTransientError(UplinkError):
    """Worth trying again later: the platform was slow, busy or unreachable."""


class UplinkTimeout(UplinkTransientError):
    """No answer with our QN within the timeout, after every retry."""


class UplinkConnectionError(UplinkTransientError):
    """Could not connect, or the connection dropped on every attempt."""


class UplinkBusy(UplinkTransientError):
    """The platform answered 9012 with ExeRtn 4/5/6 (timeout, busy, system fault)."""

    def __init__(self, message: str, *, exe_rtn: int, answer: Frame) -> None:
        super().__init__(message)
        self.exe_rtn = exe_rtn
        self.answer = answer


class UplinkRefused(UplinkError):
    """The platform refused the upload (9011 QnRtn != 1, or 9012 with a failing ExeRtn).

    Permanent: resending the same frame will be refused again. `code` is the QnRtn/ExeRtn value,
    `reason` its meaning from the standard's table.
    """

    def __init__(self, message: str, *, code: int, reason: str, answer: Frame) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.answer = answer


_TRANSIENT_EXE_RTN = frozenset({4, 5, 6})


class Hj212Uplink:
    """One TCP connection to a platform, opened on first use and reopened when it drops.

    `send` writes a frame (Flag bit A set) and waits `timeout` seconds for the 9014 answer with
    the same QN; without one it resends, up to `retries` more times (HJ 212-2017 Table 1: 10 s,
    3 retries). A dropped connection is reopened and the frame resent, counting as a retry.
    Sends are serialized: one frame in flight per uplink.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        connect_timeout: float = 10.0,
        retry_delay: float = 1.0,
        crc_variant: CrcVariant = "hj212",
        max_frame_bytes: int = MAX_FRAME_BYTES,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self.connect_timeout = connect_timeout
        self.retry_delay = retry_delay
        self.crc_variant: CrcVariant = crc_variant
        self.max_frame_bytes = max_frame_bytes
        self.attempts = 0
        self.connects = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._splitter = FrameSplitter(max_frame_bytes=max_frame_bytes)
        self._answers: deque[Frame] = deque()
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def send(self, frame: Frame, *, sm4_key: bytes | None = None) -> Frame:
        """Upload one frame and return the platform's answer (9014, or 9012 ExeRtn=1).

        The frame speaks the version its Flag says (4/5 HJ 212-2017, 8/9 HJ 212-2025); with
        `sm4_key` its CP goes SM4-encrypted (HJ 212-2025). Raises UplinkTimeout /
        UplinkConnectionError (transient, retry later), UplinkBusy (transient) or UplinkRefused
        (permanent).
        """
        if not frame.needs_ack:
            raise ValueError(
                "send() waits for an answer: set Flag bit A (e.g. Flag=5), or use send_nowait()"
            )
        if not frame.qn:
            raise ValueError("send() matches the answer by QN, and this frame has none")
        data = encode_frame(frame, crc_variant=self.crc_variant, sm4_key=sm4_key)
        async with self._lock:
            failure: UplinkTransientError | None = None
            for attempt in range(self.retries + 1):
                if isinstance(failure, UplinkConnectionError) and self.retry_delay:
                    await asyncio.sleep(self.retry_delay)
                self.attempts += 1
                try:
                    await self._write(data)
                    return await self._answer(frame.qn)
                except UplinkTimeout as exc:
                    failure = exc
                    log.info("no answer to QN %s (attempt %d)", frame.qn, attempt + 1)
                except UplinkConnectionError as exc:
                    failure = exc
                    log.info("upload of QN %s: %s (attempt %d)", frame.qn, exc, attempt + 1)
                    await self._disconnect()
            assert failure is not None
            raise type(failure)(
                f"{failure} (after {self.retries + 1} attempts to {self.host}:{self.port})"
            ) from failure

    async def send_nowait(self, frame: Frame, *, sm4_key: bytes | None = None) -> None:
        """Write a frame that asks for no answer (Flag bit A clear); reconnects once if needed."""
        data = encode_frame(frame, crc_variant=self.crc_variant, sm4_key=sm4_key)
        async with self._lock:
            try:
                await self._write(data)
            except UplinkConnectionError:
                await self._disconnect()
                await self._write(data)

    async def close(self) -> None:
        """Close the connection (the next send reopens it)."""
        async with self._lock:
            await self._disconnect()

    async def __aenter__(self) -> Hj212Uplink:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _write(self, data: bytes) -> None:
        try:
            if not self.connected:
                await self._connect()
            assert self._writer is not None
            self._writer.write(data)
            await self._writer.drain()
        except (OSError, ConnectionError) as exc:
            raise UplinkConnectionError(f"cannot send to {self.host}:{self.port}: {exc}") from exc

    async def _connect(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.connect_timeout
            )
        except TimeoutError:
            raise UplinkConnectionError(
                f"no connection to {self.host}:{self.port} within {self.connect_timeout} s"
            ) from None
        except OSError as exc:
            raise UplinkConnectionError(
                f"cannot connect to {self.host}:{self.port}: {exc}"
            ) from exc
        self._splitter = FrameSplitter(max_frame_bytes=self.max_frame_bytes)
        self._answers.clear()
        self.connects += 1

    async def _disconnect(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()

    async def _answer(self, qn: str) -> Frame:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            while self._answers:
                answer = self._answers.popleft()
                if answer.qn == qn and (result := self._judge(answer)) is not None:
                    return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise UplinkTimeout(f"no answer to QN {qn} within {self.timeout} s")
            assert self._reader is not None
            try:
                async with asyncio.timeout(remaining):
                    data = await self._reader.read(65536)
            except TimeoutError:
                raise UplinkTimeout(f"no answer to QN {qn} within {self.timeout} s") from None
            except (OSError, ConnectionError) as exc:
                raise UplinkConnectionError(f"connection to the platform failed: {exc}") from exc
            if not data:
                raise UplinkConnectionError("the platform closed the connection")
            for raw in self._splitter.feed(data):
                try:
                    self._answers.append(parse_frame(raw, tolerant=True))
                except FrameError as exc:
                    log.warning("unreadable frame from the platform: %s", exc)

    def _judge(self, answer: Frame) -> Frame | None:
        if answer.cn == "9014":
            return answer
        if answer.cn == "9011":
            code = _int(answer.cp.get("QnRtn"))
            if code == 1:
                return None  # "ready": keep waiting for the data answer
            reason = QN_RTN.get(code, "unknown QnRtn")
            raise UplinkRefused(
                f"platform refused QN {answer.qn}: QnRtn={code} ({reason})",
                code=code,
                reason=reason,
                answer=answer,
            )
        if answer.cn == "9012":
            code = _int(answer.cp.get("ExeRtn"))
            if code == 1:
                return answer
            reason = EXE_RTN.get(code, "unknown ExeRtn")
            message = f"platform could not take QN {answer.qn}: ExeRtn={code} ({reason})"
            if code in _TRANSIENT_EXE_RTN:
                raise UplinkBusy(message, exe_rtn=code, answer=answer)
            raise UplinkRefused(message, code=code, reason=reason, answer=answer)
        log.info("ignoring CN=%s from the platform while waiting for QN %s", answer.cn, answer.qn)
        return None


def _int(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        return 100
