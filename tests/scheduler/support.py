"""Real processes for the proofs under fire: simulators (`python -m parkhub.sandbox NAME`) that
outlive the workers, and workers (`python -m parkhub.cli run`) killed with SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

SECRETS = {
    "PARKHUB_DEMO_QISHENG_SECRET": "demo-secret",
    "PARKHUB_DEMO_PROVINCIAL_SECRET": "demo-secret",
    "PARKHUB_DEMO_ECON_SECRET": "demo-secret",
    "PARKHUB_DEMO_FIRE_KEY": "demo-fire-key",
    "PARKHUB_DEMO_SAFETY_SECRET": "demo-secret",
}
"""The simulators' default credentials, as the workers read them (env:NAME)."""


class SimProcess:
    """A simulator in its own process: its URL, its state and its faults over HTTP."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "parkhub.sandbox", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"simulator {name} did not start: {self.url!r}")
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def state(self) -> dict[str, Any]:
        r = self.http.get("/_sandbox/state")
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    def chaos(self, **chaos: Any) -> None:
        """Start faults (parkhub.sandbox.faults.Chaos fields); none: stop them."""
        self.http.post("/_sandbox/chaos", json=chaos).raise_for_status()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if hasattr(self, "http"):
            self.http.close()


@contextmanager
def simulators(*names: str) -> Iterator[dict[str, SimProcess]]:
    sims: dict[str, SimProcess] = {}
    try:
        for name in names:
            sims[name] = SimProcess(name)
        yield sims
    finally:
        for sim in sims.values():
            sim.stop()


class Workers:
    """`parkhub run` workers on one config; `kill` one with SIGKILL and start it again."""

    def __init__(self, config: Mapping[str, Any], tmp: Path, db_url: str, count: int) -> None:
        self.config_file = tmp / "parkhub.yaml"
        self.config_file.write_text(yaml.safe_dump(dict(config), allow_unicode=True), "utf-8")
        self.logs = tmp / "logs"
        self.logs.mkdir(exist_ok=True)
        self.env = {**os.environ, **SECRETS, "PARKHUB_DATABASE_URL": db_url}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.numbers: list[int] = []  # each slot's worker: its log is worker-N.log
        self.ready: list[float | None] = []  # time.monotonic() it said it runs
        self.kills: list[float] = []  # time.time() of each SIGKILL
        self.started = 0
        for _ in range(count):
            self.procs.append(self._start())
            self.numbers.append(self.started)
            self.ready.append(None)

    def _start(self) -> subprocess.Popen[bytes]:
        self.started += 1
        log = (self.logs / f"worker-{self.started}.log").open("wb")
        args = ["-m", "parkhub.cli", "run", "--no-web", "--config", str(self.config_file)]
        return subprocess.Popen(
            [sys.executable, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def kill(self, rng: random.Random, *, up_for: float = 1.0) -> bool:
        """SIGKILL a worker picked at random among those at work (running for `up_for`
        seconds since it said so), and start a new one in its place; only while another
        is at work too, so the work carries on while one starts again. False when not."""
        working = [i for i in range(len(self.procs)) if self._working(i, up_for)]
        if len(working) < 2:
            return False
        i = rng.choice(working)
        self.procs[i].kill()
        self.procs[i].wait(timeout=10)
        self.kills.append(time.time())
        self.procs[i] = self._start()
        self.numbers[i], self.ready[i] = self.started, None
        return True

    def _working(self, i: int, up_for: float) -> bool:
        if self.ready[i] is None:
            log = self.logs / f"worker-{self.numbers[i]}.log"
            if b"parkhub running" in log.read_bytes():
                self.ready[i] = time.monotonic()
        ready = self.ready[i]
        return ready is not None and time.monotonic() - ready >= up_for

    def alive(self) -> int:
        return sum(p.poll() is None for p in self.procs)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)

    def output(self) -> str:
        """The workers' logs, for a failure message (tail of each)."""
        parts = []
        for f in sorted(self.logs.glob("worker-*.log")):
            text = f.read_text("utf-8", errors="replace")
            parts.append(f"--- {f.name}\n{text[-1500:]}")
        return "\n".join(parts)


def platform(
    name: str, reports: list[str], url: str, retry: Mapping[str, Any], **extra: Any
) -> dict[str, Any]:
    """A platform of the workers' config, on a simulator in its own process."""
    configs = {
        "provincial": {
            "base_url": url,
            "app_key": "demo-key",
            "app_secret": "env:PARKHUB_DEMO_PROVINCIAL_SECRET",
        },
        "econ": {
            "base_url": url,
            "client_id": "demo-client",
            "client_secret": "env:PARKHUB_DEMO_ECON_SECRET",
        },
        "fire": {"base_url": url, "api_key": "env:PARKHUB_DEMO_FIRE_KEY"},
        "safety": {
            "base_url": url,
            "api_key": "demo-key",
            "api_secret": "env:PARKHUB_DEMO_SAFETY_SECRET",
        },
    }
    config = {**configs[name], "timeout_seconds": 5}
    return {"name": name, "type": name, "reports": reports, "config": config, **extra} | {
        "retry": dict(retry)
    }


def windows_over(arrivals: list[float], seconds: float) -> int:
    """The most requests that arrived within any `seconds`-long window."""
    times = sorted(arrivals)
    most, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > seconds:
            start += 1
        most = max(most, end - start + 1)
    return most
