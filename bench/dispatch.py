"""Dispatch: deliveries/s to the provincial sandbox on loopback, against raw httpx to it.

The sandbox runs in its own process (`python -m parkhub.sandbox provincial`), so its CPU and GIL
are not the client's; raw httpx and the dispatcher use the same threads and client pattern.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import orjson

from parkhub.adapters.platforms.provincial import ProvincialPlatform
from parkhub.canonical import Enterprise, jsonutil
from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.mappings import load_mapping
from parkhub.protocols import provincial as proto
from parkhub.sandbox.data import credit_code

THREADS = 8
APP_KEY, APP_SECRET = "demo-key", "demo-secret"  # the simulator's defaults
PATH = "/openapi/v1/park/enterprises"
WARM = 200


@contextmanager
def sandbox(name: str = "provincial") -> Iterator[str]:
    """Start a simulator in its own process; yield its URL; kill it afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "parkhub.sandbox", name],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"sandbox did not start: {url!r}")
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def _raw_rate(url: str, payloads: list[bytes], *, per_thread: bool) -> float:
    """POST signed payloads with THREADS threads: one shared client, or one client per thread.

    Clients are made before the clock starts (each builds an SSL context: ~80 ms).
    """
    shared = httpx.Client(limits=httpx.Limits(max_connections=THREADS))
    spare = [httpx.Client() for _ in range(THREADS)] if per_thread else []
    local = threading.local()

    def take_client() -> None:
        local.client = spare.pop() if per_thread else shared

    def post(body: bytes) -> None:
        ts, nonce = str(int(time.time() * 1000)), uuid.uuid4().hex
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "appKey": APP_KEY,
            "timestamp": ts,
            "nonce": nonce,
            "sign": proto.sign(APP_SECRET, APP_KEY, ts, nonce, "POST", PATH, body),
            proto.REQUEST_ID_HEADER: uuid.uuid4().hex,
        }
        r = local.client.post(url + PATH, content=body, headers=headers)
        assert orjson.loads(r.content)["code"] == "0", r.text

    clients = [shared, *spare]
    try:
        with ThreadPoolExecutor(THREADS, initializer=take_client) as pool:
            started = time.perf_counter()
            list(pool.map(post, payloads))
            return len(payloads) / (time.perf_counter() - started)
    finally:
        for c in clients:
            c.close()


def _enterprises(n: int, division: str) -> list[Enterprise]:
    return [
        Enterprise(
            park_id="bench",
            credit_code=credit_code(division, i),
            name=f"基准企业{i}",
            industry_code="3823",
            floor_area_m2=100.0,
        )
        for i in range(1, n + 1)
    ]


def _payloads(n: int, division: str) -> list[bytes]:
    """What the dispatcher sends for such enterprises (same mapping), as raw request bodies."""
    mapping = load_mapping(ProvincialPlatform.reports["enterprise_roster"].mapping)
    meta = {"revision": 1, "correction": False, "key": "", "idempotency_key": ""}
    return [
        jsonutil.dumps(mapping.apply({**e.document(), "_meta": meta}, record=e.key))
        for e in _enterprises(n, division)
    ]


def run(db_url: str, n: int = 2000, rounds: int = 5) -> dict[str, Any]:
    """Rounds of: raw httpx (shared client, then a client per thread), then the dispatcher
    sending n deliveries; each round's ratio is against the faster raw rate of that round, and
    the median round is reported (the other processes on the machine come and go)."""
    os.environ.setdefault("PARKHUB_BENCH_PROVINCIAL_SECRET", APP_SECRET)
    with sandbox("provincial") as url:
        config = parse_config(
            {
                "parks": [{"id": "bench", "name": "基准园区", "division_code": "330302"}],
                "platforms": [
                    {
                        "name": "provincial",
                        "type": "provincial",
                        "config": {
                            "base_url": url,
                            "app_key": APP_KEY,
                            "app_secret": "env:PARKHUB_BENCH_PROVINCIAL_SECRET",
                        },
                        "reports": ["enterprise_roster"],
                    }
                ],
                "dispatch": {"batch_size": 500, "concurrency": THREADS},
            }
        )
        hub = Hub.open(config, url=db_url)
        measured: list[dict[str, float]] = []
        try:
            # warm up both sides (connections, prepared statements, mapping, validator)
            hub.ingest_records(_enterprises(WARM, "330301"), source="bench")
            assert hub.dispatch().sent == WARM
            _raw_rate(url, _payloads(WARM, "330301"), per_thread=True)
            for r in range(rounds):  # fresh enterprises each round (serials go to 9999)
                hub.ingest_records(_enterprises(n, f"3303{10 + r:02d}"), source="bench")
                shared = _raw_rate(url, _payloads(n, f"3304{10 + r:02d}"), per_thread=False)
                local = _raw_rate(url, _payloads(n, f"3305{10 + r:02d}"), per_thread=True)
                started = time.perf_counter()
                stats = hub.dispatch()
                rate = stats.sent / (time.perf_counter() - started)
                assert stats.sent == n and stats.failed == stats.dead == 0, stats
                measured.append(
                    {
                        "rate": rate,
                        "shared": shared,
                        "local": local,
                        "ratio": rate / max(shared, local),
                    }
                )
        finally:
            hub.close()
    median = sorted(measured, key=lambda m: m["ratio"])[len(measured) // 2]
    return {
        "per_second": median["rate"],
        "raw_per_second": max(median["shared"], median["local"]),
        "raw_shared": median["shared"],
        "raw_per_thread": median["local"],
        "ratio": median["ratio"],
        "ratios": [round(m["ratio"], 3) for m in measured],
        "deliveries": n,
        "rounds": rounds,
    }


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(run(f"sqlite:///{tmp}/dispatch.db", int(os.environ.get("N", "2000"))))
