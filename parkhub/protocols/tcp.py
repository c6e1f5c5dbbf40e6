"""An asyncio TCP server that keeps track of its connections, so that stopping it ends them all:
the base of the HJ 212 listener and of the loopback HJ 212 platform."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Self

log = logging.getLogger(__name__)

Peer = tuple[str, int]


class TcpServer:
    """Subclasses write `serve(reader, writer, peer)`: one call per connection, closed after."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (useful with port=0)."""
        return self._port

    async def start(self) -> None:
        """Bind and start accepting connections."""
        self._server = await asyncio.start_server(self._on_connect, self.host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting, close every connection and wait for them to finish."""
        if self._server is None:
            return
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer
    ) -> None:
        raise NotImplementedError

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peername = writer.get_extra_info("peername")
        peer = (str(peername[0]), int(peername[1])) if peername else ("?", 0)
        try:
            await self.serve(reader, writer, peer)
        except (ConnectionError, OSError) as exc:
            log.info("connection from %s:%d lost: %s", *peer, exc)
        except asyncio.CancelledError:
            # stop() cancels connections; on 3.11 a cancelled client_connected_cb task is
            # reported by asyncio as an error, so end it normally instead.
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await writer.wait_closed()
