"""Dispatch: deliveries/s to the provincial sandbox on loopback, against raw httpx to it."""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import orjson

from parkhub.adapters.platforms import provincial_protocol as proto
from parkhub.canonical import Enterprise
from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.sandbox.data import credit_code
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.server import serve_in_thread

THREADS = 8


def _raw_rate(url: str, sim: ProvincialSim, payloads: list[bytes]) -> float:
    path = "/openapi/v1/park/enterprises"
    with httpx.Client(limits=httpx.Limits(max_connections=THREADS)) as client:

        def post(body: bytes) -> None:
            ts, nonce = str(int(time.time() * 1000)), uuid.uuid4().hex
            headers = {
                "Content-Type": "application/json",
                "appKey": sim.app_key,
                "timestamp": ts,
                "nonce": nonce,
                "sign": proto.sign(sim.app_secret, sim.app_key, ts, nonce, "POST", path, body),
                proto.REQUEST_ID_HEADER: uuid.uuid4().hex,
            }
            r = client.post(url + path, content=body, headers=headers)
            assert r.json()["code"] == "0", r.text

        started = time.perf_counter()
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(post, payloads))
        return len(payloads) / (time.perf_counter() - started)


def run(db_url: str, n: int = 2000) -> dict[str, Any]:
    os.environ.setdefault("PARKHUB_BENCH_PROVINCIAL_SECRET", "demo-secret")
    sim = ProvincialSim()
    with serve_in_thread(sim.app) as server:
        config = parse_config(
            {
                "parks": [{"id": "bench", "name": "基准园区", "division_code": "330302"}],
                "platforms": [
                    {
                        "name": "provincial",
                        "type": "provincial",
                        "config": {
                            "base_url": server.url,
                            "app_key": "demo-key",
                            "app_secret": "env:PARKHUB_BENCH_PROVINCIAL_SECRET",
                        },
                        "reports": ["enterprise_roster"],
                    }
                ],
                "dispatch": {"batch_size": 500, "concurrency": THREADS},
            }
        )
        hub = Hub.open(config, url=db_url)
        try:
            recs = [
                Enterprise(
                    park_id="bench",
                    credit_code=credit_code("330302", i),
                    name=f"基准企业{i}",
                    industry_code="3823",
                    floor_area_m2=100.0,
                )
                for i in range(1, n + 1)
            ]
            hub.ingest_records(recs, source="bench")
            payloads = [
                orjson.dumps(
                    {
                        "parkCode": "bench",
                        "creditCode": credit_code("330303", i),
                        "entName": f"x{i}",
                        "isAboveScale": 0,
                        "status": "1",
                        "isCorrection": 0,
                    }
                )
                for i in range(1, n + 1)
            ]
            raw = _raw_rate(server.url, sim, payloads[: n // 2])  # warm the server too
            started = time.perf_counter()
            stats = hub.dispatch()
            rate = stats.sent / (time.perf_counter() - started)
            raw = max(raw, _raw_rate(server.url, sim, payloads[n // 2 :]))
            assert stats.sent == n, stats
        finally:
            hub.close()
    return {"per_second": rate, "raw_per_second": raw, "ratio": rate / raw}
