"""Serve an ASGI app on 127.0.0.1 in a background thread: the simulators are real HTTP servers."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn


@dataclass
class ServerHandle:
    server: uvicorn.Server
    thread: threading.Thread
    port: int
    app: Any

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=2)
        if self.thread.is_alive():  # a request is still being held (outage simulation)
            self.server.force_exit = True
            self.thread.join(timeout=10)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(app: Any, *, port: int = 0, host: str = "127.0.0.1") -> ServerHandle:
    """Start uvicorn on a loopback socket (port 0: any free port) and wait until it answers."""
    if not host.startswith("127.") and host != "localhost":
        raise ValueError("sandbox servers bind to loopback only")
    # IPPROTO_TCP: asyncio turns TCP_NODELAY on only for sockets that say they are TCP;
    # without it every answer waits ~40 ms for delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("sandbox server did not start")
        time.sleep(0.01)
    return ServerHandle(server, thread, sock.getsockname()[1], app)
