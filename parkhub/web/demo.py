"""The console on the demo's data (`parkhub demo --serve`): the whole web app, a demo account,
and a background dispatch so what the console queues reaches the demo's platforms."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable

from fastapi import FastAPI

from parkhub.hub import Hub
from parkhub.web.app import create_app
from parkhub.web.console import demo_account

log = logging.getLogger("parkhub.console")


def demo_console_app(hub: Hub) -> tuple[FastAPI, str, str]:
    """The web app with the console on `hub`, and a fresh demo account: (app, user, password)."""
    username, password = demo_account(hub)
    return create_app(hub, console_secret=secrets.token_urlsafe(32)), username, password


def serve_demo_console(
    hub: Hub,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    dispatch_every: float | None = 2.0,
    echo: Callable[[str], None] = print,
) -> None:
    """`parkhub demo --serve`: serve the console on the demo's hub until Ctrl-C.

    Prints the URL and the demo account. With `dispatch_every`, a background loop sends what the
    console queues (entries, replays) to the demo's platforms while they still run.
    """
    import uvicorn

    app, username, password = demo_console_app(hub)
    stop = threading.Event()

    def ticker() -> None:
        assert dispatch_every is not None
        while not stop.wait(dispatch_every):
            try:
                hub.dispatch()
            except Exception:
                log.exception("demo dispatch failed")

    thread = threading.Thread(target=ticker, daemon=True, name="demo-dispatch")
    if dispatch_every:
        thread.start()
    echo(f"控制台 Console: http://{host}:{port}/console/")
    echo(f"演示账号 Demo account: {username} / {password}   (this demo database only)")
    echo("Ctrl-C 退出 to stop")
    try:
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run()
    finally:
        stop.set()
        if dispatch_every:
            thread.join(timeout=10)
