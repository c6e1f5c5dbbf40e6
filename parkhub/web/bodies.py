"""Request bodies under a size limit and a deadline.

The size of every body is capped by FastAPI (`max_body_size`: the app's for the console and the
API, the push routes' own); a push receiver reads its body with `read_body`, under its source's
limit, so that it can keep a record of what it refused. `BodyDeadline` answers 408 to a body
that does not arrive in time (a slow upload holds a connection while it trickles in).
"""

from __future__ import annotations

import asyncio
import time

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyRefused(Exception):
    """A body refused for its size before it was read whole: `read` is what was read of it,
    `size` its whole size when the client declared it."""

    def __init__(self, reason: str, read: bytes, size: int | None) -> None:
        super().__init__(reason)
        self.reason, self.read, self.size = reason, read, size


def declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read up to `limit` bytes: past the limit (declared, or read so far) it raises
    BodyRefused without reading the rest."""
    declared = declared_length(request)
    if declared is not None and declared > limit:
        reason = f"请求体过大 (body too large: {declared} bytes, limit {limit})"
        raise BodyRefused(reason, b"", declared)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        chunks.append(chunk)
        if size > limit:
            reason = f"请求体过大 (body too large: over {limit} bytes)"
            raise BodyRefused(reason, b"".join(chunks)[: limit + 1], declared)
    return b"".join(chunks)


class BodyDeadline:
    """ASGI middleware: a request body must arrive whole within `seconds` of the first read,
    else 408 (if the app has not answered yet). Reads after the body (waiting for the client to
    disconnect) are not timed."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline: float | None = None
        done = False

        async def timed_receive() -> Message:
            nonlocal deadline, done
            if done:
                return await receive()
            if deadline is None:
                deadline = time.monotonic() + self.seconds
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 0.0)):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(
                    408, f"请求体超时 (request body not received within {self.seconds:g} s)"
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                done = True
            return message

        await self.app(scope, timed_receive, send)
