"""Ingest: raw vendor JSON pages -> canonical records + outbox rows, stored (records/s).

Each page is what one Qisheng pull returns (1000 meter readings, ~180 bytes of JSON each) and
goes through `Hub.ingest_many` as a pull's pages do: each page's raw message, records, outbox
rows and source cursor are committed together (SQLite: pages that arrive back to back share a
transaction; PostgreSQL: one pipelined transaction per page). Pages are made in bounded chunks
outside the clock. The process is tuned as the `parkhub` command tunes its own (tune_gc).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from typing import Any

import orjson

from parkhub.adapters.vendors.base import RawMessage, SourceContext
from parkhub.adapters.vendors.qisheng import QishengAdapter, QishengConfig
from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.ingest.tuning import tune_gc
from parkhub.store import Route, RouteTable, Store

PAGE = 1000
CHUNK = 20 * PAGE  # readings generated at a time: input memory stays bounded too
METERS = 500  # distinct meters: each page touches 500 places of the (kind, key) index


def pages(n: int, *, offset: int = 0) -> list[bytes]:
    """n meter readings in Qisheng's page format (~180 bytes of JSON each)."""
    out = []
    for start in range(offset, offset + n, PAGE):
        rows = [
            {
                "id": i + 1,
                "meterNo": f"DB-E{i % METERS:04d}",
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
    hub.ingestion.routes = RouteTable.of(
        [("measurement", "bench", Route("bench", "readings", "1"))]
    )
    return hub


def rss_mb() -> float:
    """Resident set size now (not the high-water mark), in MB."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def run(url: str, n: int, *, trace: bool = False) -> dict[str, Any]:
    """Ingest n readings into a fresh database at `url`; with `trace`, follow the Python heap."""
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
        # warm up (imports, statement preparation) on data outside the measured set
        for body in pages(2 * PAGE, offset=10_000_000):
            hub.ingest(adapter, RawMessage("bench-qs", "readings", body), cursor=("readings", "0"))
        tune_gc()  # as the `parkhub` command does once its hub is open
        gc.collect()
        rss_before = rss_mb()
        if trace:
            tracemalloc.start()
        stored = outbox = 0
        elapsed = 0.0
        for chunk_start in range(0, n, CHUNK):
            bodies = pages(min(CHUNK, n - chunk_start), offset=chunk_start)
            stream = [
                (RawMessage("bench-qs", "readings", body), ("readings", str(chunk_start + i)))
                for i, body in enumerate(bodies)
            ]
            started = time.perf_counter()
            for res in hub.ingest_many(adapter, stream):  # what a pull does with its pages
                stored += res.new
                outbox += res.deliveries
            elapsed += time.perf_counter() - started
            del bodies
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        if trace:
            tracemalloc.stop()
        pending = hub.store.outbox.status_counts().get("bench", {}).get("pending", 0)
        assert pending == outbox + 2 * PAGE, (pending, outbox)  # + the warm-up's
        return {
            "records": stored,
            "seconds": elapsed,
            "per_second": stored / elapsed,
            "outbox_rows": outbox,
            "rss_growth_mb": rss_mb() - rss_before,
            "heap_peak_mb": peak / 2**20,
        }
    finally:
        hub.close()


def memory(url: str, n: int, *, trace: bool = True) -> dict[str, Any]:
    """`run` in a fresh process (sizes must not share a high-water mark); `trace`: tracemalloc."""
    return in_fresh_process("bench.ingest", "--memory" if trace else "--rss", url, str(n))


def in_fresh_process(module: str, *args: str) -> dict[str, Any]:
    """Run `python -m module args` and return the JSON object it prints last."""
    out = subprocess.run(
        [sys.executable, "-m", module, *args], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    if sys.argv[1:2] in (["--memory"], ["--rss"]):
        print(json.dumps(run(sys.argv[2], int(sys.argv[3]), trace=sys.argv[1] == "--memory")))
    else:
        import tempfile

        size = int(os.environ.get("PARKHUB_BENCH_RECORDS", "50000"))
        with tempfile.TemporaryDirectory() as tmp:
            print(run(f"sqlite:///{tmp}/ingest.db", size))
