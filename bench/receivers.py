"""Receivers: accepted pushes/s (durably committed) against a trivial endpoint, HJ 212 frames/s
through the listener into the store, and fire alarm latency from receipt to the fire platform's
acknowledgement. parkhub runs as `parkhub run` in its own process, as in production."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import create_engine, text

from parkhub.protocols.hj212 import data_frame
from parkhub.sandbox import ctwing_sim, onenet_sim
from parkhub.sandbox.hj212_platform import run_logger

THREADS = 8
CTWING_TOKEN = "bench-ctwing-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process(args: list[str], env: dict[str, str] | None = None, url_line: bool = True) -> Any:
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        url = proc.stdout.readline().strip() if url_line and proc.stdout else ""
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_http(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def post_all(url: str, bodies: list[bytes], params: dict[str, str] | None = None) -> float:
    chunks = [bodies[i::THREADS] for i in range(THREADS)]

    def worker(chunk: list[bytes]) -> None:
        with httpx.Client(timeout=10) as client:  # one client per thread
            for body in chunk:
                r = client.post(
                    url, content=body, params=params, headers={"content-type": "application/json"}
                )
                assert r.status_code == 200, r.text

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(worker, chunks))
    return len(bodies) / (time.perf_counter() - started)


def onenet_bodies(n: int, offset: int = 0) -> list[bytes]:
    return [
        onenet_sim.old_body(
            onenet_sim.DEMO_TOKEN,
            onenet_sim.OLD_DATAPOINT.replace("1466133706841", str(1466133706841 + offset + i)),
            nonce=f"b{offset + i:07d}",
        )
        for i in range(n)
    ]


def run(n_pushes: int = 3000, n_frames: int = 2000, n_alarms: int = 200) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp())
    db = f"sqlite:///{tmp / 'receivers.db'}"
    web_port, tcp_port = free_port(), free_port()
    env = {
        "BENCH_ONENET_TOKEN": onenet_sim.DEMO_TOKEN,
        "BENCH_CTWING_TOKEN": CTWING_TOKEN,
        "BENCH_FIRE_KEY": "demo-fire-key",
        "PARKHUB_DATABASE_URL": db,
    }
    out: dict[str, Any] = {}
    with (
        process([sys.executable, "-m", "bench._servers", "fire"]) as fire_url,
        process([sys.executable, "-m", "bench._servers", "trivial"]) as trivial_url,
    ):
        cfg = tmp / "parkhub.yaml"
        cfg.write_text(
            yaml.safe_dump(_config(tcp_port, fire_url), allow_unicode=True), encoding="utf-8"
        )
        run_args = [sys.executable, "-m", "parkhub.cli", "run", "--config", str(cfg)]
        with process([*run_args, "--port", str(web_port)], env, url_line=False):
            base = f"http://127.0.0.1:{web_port}"
            wait_http(base + "/healthz")
            out["pushes"] = _pushes(base, trivial_url, n_pushes)
            out["frames"] = _frames(tcp_port, n_frames)
            _fire_alarms(base, n_alarms)
            time.sleep(2)
    out["fire_latency"] = _latency(db)
    return out


def _config(tcp_port: int, fire_url: str) -> dict[str, Any]:
    """OneNET pushes, CTWing smoke alarms and an HJ 212 listener in; the fire platform out."""
    return {
        "parks": [{"id": "b1", "name": "基准园区", "division_code": "330302"}],
        "sources": [
            {
                "name": "onenet-b",
                "vendor": "onenet",
                "park": "b1",
                "config": {"token": "env:BENCH_ONENET_TOKEN"},
            },
            {
                "name": "ctwing-b",
                "vendor": "ctwing",
                "park": "b1",
                "config": {
                    "push_token": "env:BENCH_CTWING_TOKEN",
                    "device_map": {
                        "keys": {
                            "Alarm_Status": {
                                "event": "fire_alarm",
                                "when": {2: {"severity": "critical"}},
                            }
                        }
                    },
                },
            },
            {"name": "hj212-b", "vendor": "hj212", "park": "b1", "config": {"port": tcp_port}},
        ],
        "platforms": [
            {
                "name": "fire",
                "type": "fire",
                "reports": ["fire_events"],
                "config": {"base_url": fire_url, "api_key": "env:BENCH_FIRE_KEY"},
            }
        ],
        "dispatch": {"schedule": {"every_seconds": 60}},
    }


def _pushes(base: str, trivial_url: str, n: int) -> dict[str, float]:
    """parkhub's push receiver against a trivial endpoint: same bodies, same client pattern."""
    post_all(trivial_url + "/push", onenet_bodies(300, 10_000_000))  # warm up
    post_all(base + "/push/onenet/onenet-b", onenet_bodies(300, 20_000_000))
    trivial = post_all(trivial_url + "/push", onenet_bodies(n))
    accepted = post_all(base + "/push/onenet/onenet-b", onenet_bodies(n))
    return {
        "per_second": accepted,
        "trivial_per_second": trivial,
        "ratio": accepted / trivial,
        "n": n,
    }


def _frames(tcp_port: int, n: int) -> dict[str, float]:
    """HJ 212 frames from 4 data loggers through the listener into the store (each answered
    after it is stored)."""
    frames = [
        data_frame(
            "2051",
            st="32",
            mn=f"BENCH{c:011d}",
            pw="123456",
            data_time=_minute(i),
            factors={
                "w01018": {"Avg": "23.5", "Flag": "N"},
                "w21003": {"Avg": "1.25", "Flag": "N"},
            },
        )
        for c in range(4)
        for i in range(n // 4)
    ]

    async def loggers() -> float:
        started = time.perf_counter()
        groups = [frames[c::4] for c in range(4)]
        answers = await asyncio.gather(
            *(run_logger("127.0.0.1", tcp_port, g, pause=0, answer_timeout=10) for g in groups)
        )
        assert sum(len(a) for a in answers) == len(frames)
        return len(frames) / (time.perf_counter() - started)

    return {"per_second": asyncio.run(loggers()), "n": len(frames)}


def _fire_alarms(base: str, n: int) -> None:
    """CTWing smoke alarms, one every 20 ms; the fast lane takes them to the fire platform."""
    with httpx.Client(timeout=10) as client:
        for i in range(n):
            body = ctwing_sim.DATA_REPORT_SMOKE.replace("1606982320277", str(1606982320277 + i))
            client.post(
                base + "/push/ctwing/ctwing-b",
                params={"token": CTWING_TOKEN},
                content=body.encode(),
                headers={"content-type": "application/json"},
            )
            time.sleep(0.02)


def _minute(i: int) -> Any:
    import datetime as dt

    return dt.datetime(2026, 10, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=i)


def _latency(db: str) -> dict[str, float]:
    engine = create_engine(db)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.received_at, d.sent_at FROM deliveries d "
                "JOIN records c ON c.id = d.record_id JOIN raw_inbox r ON r.id = c.raw_id "
                "WHERE d.platform = 'fire' AND d.status = 'sent'"
            )
        ).all()
    engine.dispose()
    import datetime as dt

    ms = sorted(
        (dt.datetime.fromisoformat(str(s)) - dt.datetime.fromisoformat(str(c))).total_seconds()
        * 1000
        for c, s in rows
    )
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "p50_ms": statistics.median(ms),
        "p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))],
        "max_ms": ms[-1],
    }


if __name__ == "__main__":
    print(run())
