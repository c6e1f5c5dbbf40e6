"""Run one simulator in its own process: `python -m parkhub.sandbox NAME [--port N]`, NAME one of
provincial, econ, safety, fire, stats, robot, qisheng, smartpark (each with the defaults of its
class: the demo's credentials).

The first line on stdout is the URL it serves on 127.0.0.1; it serves until killed. A simulator in
its own process keeps its CPU and its GIL apart from the client being measured (bench/dispatch.py)
and outlives the workers a test kills; tests read it by `GET /_sandbox/state` and start faults by
`POST /_sandbox/chaos`.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
from collections.abc import Callable, Sequence
from typing import Any

import uvicorn

from .econ_sim import EconSim
from .fire_sim import FireSim
from .provincial_sim import ProvincialSim
from .qisheng_sim import QishengSim
from .robot_sim import RobotSim
from .safety_sim import SafetySim
from .smartpark_sim import SmartParkSim
from .stats_sim import StatsSim

SIMULATORS: dict[str, Callable[[], Any]] = {
    "provincial": lambda: ProvincialSim().app,
    "econ": lambda: EconSim().app,
    "safety": lambda: SafetySim().app,
    "fire": lambda: FireSim().app,
    "stats": lambda: StatsSim().app,
    "robot": lambda: RobotSim().app,
    "qisheng": lambda: QishengSim().app,
    "smartpark": lambda: SmartParkSim().app,
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m parkhub.sandbox", description=__doc__)
    parser.add_argument("simulator", choices=sorted(SIMULATORS))
    parser.add_argument("--port", type=int, default=0, help="0 (default): any free port")
    args = parser.parse_args(argv)
    app = SIMULATORS[args.simulator]()
    # Bind and listen before printing the URL: a client that reads it can connect at once.
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it every keep-alive response (headers, then body) waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(1024)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stop quietly
        uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
