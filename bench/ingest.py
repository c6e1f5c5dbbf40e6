"""Ingest: raw vendor JSON pages -> canonical records + outbox rows, stored (records/s)."""

from __future__ import annotations

import gc
import os
import resource
import time
from typing import Any

import orjson

from parkhub.adapters.base import RawMessage, SourceContext
from parkhub.adapters.vendors.qisheng import QishengAdapter, QishengConfig
from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.store import Route, Store

PAGE = 1000


def pages(n: int, *, offset: int = 0) -> list[bytes]:
    """n meter readings in Qisheng's page format (~180 bytes of JSON each)."""
    out = []
    for start in range(offset, offset + n, PAGE):
        rows = [
            {
                "id": i + 1,
                "meterNo": f"DB-E{i % 500:04d}",
                "meterType": "electric",
                "entCreditCode": "913303020000000278",
                "readTime": f"2026-{1 + (i // 40000) % 12:02d}-{1 + (i // 1440) % 28:02d} "
                f"{(i // 60) % 24:02d}:{i % 60:02d}:00",
                "value": round(100 + (i % 997) * 0.37, 2),
                "unit": "kWh",
                "periodType": "day",
            }
            for i in range(start, min(start + PAGE, offset + n))
        ]
        out.append(
            orjson.dumps({"code": 0, "msg": "success", "data": {"records": rows, "hasMore": True}})
        )
    return out


def _hub(url: str) -> Hub:
    os.environ.setdefault("PARKHUB_BENCH_SECRET", "bench")
    config = parse_config(
        {
            "parks": [{"id": "bench", "name": "基准园区", "division_code": "330302"}],
            "sources": [
                {
                    "name": "bench-qs",
                    "vendor": "qisheng",
                    "park": "bench",
                    "config": {
                        "base_url": "http://127.0.0.1:9",
                        "app_id": "b",
                        "app_secret": "env:PARKHUB_BENCH_SECRET",
                    },
                }
            ],
        }
    )
    hub = Hub(config, Store.open(url))
    # every reading gets one outbox row, as for a platform that takes readings
    hub._routes[("measurement", "bench")] = [Route("bench", "readings", "1")]
    return hub


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(url: str, n: int) -> dict[str, Any]:
    hub = _hub(url)
    adapter = QishengAdapter(
        SourceContext("bench-qs", "bench"),
        QishengConfig.model_validate(
            {
                "base_url": "http://127.0.0.1:9",
                "app_id": "b",
                "app_secret": "env:PARKHUB_BENCH_SECRET",
            }
        ),
    )
    try:
        # warm up (imports, statement compilation) on data outside the measured set
        for body in pages(2 * PAGE, offset=10_000_000):
            hub.ingest(adapter, RawMessage("bench-qs", "readings", body))
        gc.collect()
        rss_before = rss_mb()
        stored = 0
        started = time.perf_counter()
        # generate pages lazily in chunks so input memory stays bounded too
        for chunk_start in range(0, n, 20 * PAGE):
            for body in pages(min(20 * PAGE, n - chunk_start), offset=chunk_start):
                res = hub.ingest(adapter, RawMessage("bench-qs", "readings", body))
                stored += res.new
        elapsed = time.perf_counter() - started
        deliveries = hub.store.status_counts().get("bench", {}).get("pending", 0)
        return {
            "records": stored,
            "seconds": elapsed,
            "per_second": stored / elapsed,
            "outbox_rows": deliveries,
            "rss_growth_mb": rss_mb() - rss_before,
        }
    finally:
        hub.close()
