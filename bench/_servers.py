"""Servers for benchmarks, each in its own process: `python -m bench._servers trivial|fire`.

Prints its URL on the first stdout line and serves on 127.0.0.1 until killed.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def ok(request: Request) -> Response:
    await request.body()
    return Response(b'{"code":0,"msg":"ok"}', media_type="application/json")


def app_for(name: str) -> Any:
    if name == "trivial":
        return Starlette(routes=[Route("/{path:path}", ok, methods=["GET", "POST"])])
    if name == "fire":
        from parkhub.sandbox.fire_sim import FireSim

        return FireSim().app
    raise SystemExit(f"unknown server {name}")


def main() -> None:
    app = app_for(sys.argv[1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
