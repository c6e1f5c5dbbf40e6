"""The long-running commands: the whole hub in one process (`run`), the web app alone (`serve`),
and the end-to-end demo on the loopback simulators (`demo`)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .root import DEFAULT_CONFIG, ConfigOpt, HostOpt, PortOpt, console, open_hub, setup_logging

if TYPE_CHECKING:
    import uvicorn

    from parkhub.hub import Hub
    from parkhub.web.tcp import TcpListeners


def _serve_web(hub: Hub, host: str, port: int) -> uvicorn.Server:
    import uvicorn

    from parkhub.web.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(hub), host=host, port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True, name="web")
    thread.start()
    console.print(f"控制台 console: http://{host}:{port}/console/")
    console.print(f"web app on http://{host}:{port} (push: /push/<vendor>/<source>, API: /docs)")
    return server


def _listen_tcp(hub: Hub) -> TcpListeners:
    from parkhub.web.tcp import TcpListeners

    tcp = TcpListeners(hub)
    for source, port in tcp.start().items():
        console.print(f"HJ 212 listener for {source} on port {port}")
    return tcp


def run(
    config: ConfigOpt = DEFAULT_CONFIG,
    web: Annotated[bool, typer.Option(help="also serve push receivers and the API")] = True,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
) -> None:
    """Run the hub in one process: scheduled pulls, dispatch, report builds and the web app."""
    from parkhub.scheduler.service import Service

    setup_logging(verbose=True)
    hub = open_hub(config)
    service = Service(hub.store.db.leader_lock, hub.jobs(), hub.store.job_runs)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    hub.recover_inbox()
    hub.start_fast_lane()
    service.start()
    server = _serve_web(hub, host, port) if web else None
    tcp = _listen_tcp(hub)
    names = ", ".join(job.id for job in service.jobs)
    console.print(f"parkhub running with {len(service.jobs)} jobs (pid {os.getpid()}): {names}")
    console.print("[dim]logs in Beijing time; Ctrl-C to stop[/]")
    try:
        stop.wait()
    finally:
        if server is not None:
            server.should_exit = True
        tcp.stop()
        service.stop()
        hub.close()


def serve(
    config: ConfigOpt = DEFAULT_CONFIG, host: HostOpt = "127.0.0.1", port: PortOpt = 8000
) -> None:
    """Serve only the web app: push receivers, the JSON API and /metrics (no scheduler)."""
    import uvicorn

    from parkhub.web.app import create_app

    setup_logging()
    hub = open_hub(config)
    tcp = _listen_tcp(hub)
    console.print(f"控制台 console: http://{host}:{port}/console/")
    try:
        uvicorn.run(create_app(hub), host=host, port=port, log_level="warning")
    finally:
        tcp.stop()
        hub.close()


def demo(
    workdir: Annotated[Path, typer.Option(help="where the demo database goes")] = Path("var"),
    serve: Annotated[
        bool, typer.Option(help="keep the console running on the demo's data")
    ] = False,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
) -> None:
    """Run the whole hub end to end on SQLite against the loopback simulators."""
    from parkhub.demo import run_demo

    logging.basicConfig(level=logging.ERROR)
    then = None
    if serve:
        from parkhub.web.demo import serve_demo_console

        def then(hub: Hub) -> None:
            serve_demo_console(hub, host=host, port=port, echo=console.print)

    result = run_demo(workdir=workdir, console=console, then=then)
    counts = result["status"]["platforms"]
    if any(c["pending"] or c["failed"] or c["dead"] for c in counts.values()):
        raise typer.Exit(1)
