"""The province in one box (`make bench-province`): a fraction of a Zhejiang province day.

A province day is 1,100 parks x 150 enterprises x 3 meters x 96 readings (47.52 million readings,
550 a second), the monthly data of every enterprise (its figures and its roster row), each park's
monthly report, and a stream of fire alarms. The benchmark takes `--fraction` of the parks
(whole parks, at least one), and measures, on one machine:

- the work: the parks' readings ingested as Qisheng pull pages (`Hub.ingest_many`), their
  enterprises and monthly figures ingested, the parks' monthly reports built, and everything the
  provincial platform takes delivered to its sandbox (a process of its own) by `parkhub run`
  workers (one on SQLite; two with PostgreSQL), until the outbox is drained;
- real time: the fraction of a day the sample is (86,400 s x parks / 1,100), over the wall-clock
  seconds the work took: how many times faster than real time the box keeps up;
- fire alarms: CTWing smoke alarms pushed to `parkhub run` all through the load (10 a second by
  default, far more than a province sends), each timed from the push's receipt to the fire
  platform's acknowledgement (`sent_at` of its delivery): p50, p99, max.

The monthly data of a whole month is counted in the one day, which makes the figure a floor.
Usage: `python -m bench.province [--fraction 0.01] [--postgres URL] [--alarms-per-second 10]`;
PostgreSQL also runs when PARKHUB_TEST_POSTGRES_URL (or PARKHUB_BENCH_POSTGRES_URL) is set.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml
from sqlalchemy import text

from bench.dispatch import sandbox
from bench.receivers import CTWING_TOKEN, free_port, process, wait_http
from parkhub.adapters.vendors.base import RawMessage, SourceContext
from parkhub.adapters.vendors.qisheng import QishengAdapter, QishengConfig
from parkhub.canonical import Enterprise, EnterpriseMonthly
from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.ingest.tuning import tune_gc
from parkhub.sandbox import ctwing_sim
from parkhub.sandbox.data import credit_code

PARKS, ENTERPRISES, METERS, READINGS = 1100, 150, 3, 96
DAY_READINGS = PARKS * ENTERPRISES * METERS * READINGS  # 47,520,000
PAGE = 1000
PERIOD = "2026-10"
DAY = dt.date(2026, 11, 5)
# county-level divisions of Zhejiang (GB/T 2260): 60 parks each keep credit codes apart
DIVISIONS = (
    "330102",
    "330105",
    "330106",
    "330108",
    "330109",
    "330110",
    "330111",
    "330112",
    "330122",
    "330127",
    "330182",
    "330203",
    "330205",
    "330206",
    "330211",
    "330212",
    "330213",
    "330225",
    "330226",
    "330281",
    "330282",
    "330302",
    "330303",
    "330304",
    "330305",
    "330324",
    "330326",
    "330327",
    "330328",
    "330329",
    "330381",
    "330382",
    "330383",
)
SECRETS = {
    "PROVINCE_QS_SECRET": "bench",
    "PROVINCE_PROVINCIAL_SECRET": "demo-secret",  # the sandbox's default
    "PROVINCE_CTWING_TOKEN": CTWING_TOKEN,
    "PROVINCE_FIRE_KEY": "demo-fire-key",
}


def park_id(p: int) -> str:
    return f"zj-{p:04d}"


def division(p: int) -> str:
    return DIVISIONS[p // 60]


def config(parks: int, provincial_url: str, fire_url: str) -> dict[str, Any]:
    qs = {"base_url": "http://127.0.0.1:9", "app_id": "b", "app_secret": "env:PROVINCE_QS_SECRET"}
    smoke = {"event": "fire_alarm", "when": {2: {"severity": "critical"}}}
    return {
        "parks": [
            {"id": park_id(p), "name": f"基准园区{p}", "division_code": division(p)}
            for p in range(parks)
        ],
        "sources": [
            *(
                {"name": f"qs-{p}", "vendor": "qisheng", "park": park_id(p), "config": qs}
                for p in range(parks)
            ),
            {
                "name": "ctwing-alarms",
                "vendor": "ctwing",
                "park": park_id(0),
                "config": {
                    "push_token": "env:PROVINCE_CTWING_TOKEN",
                    "device_map": {"keys": {"Alarm_Status": smoke}},
                },
            },
        ],
        "platforms": [
            {
                "name": "provincial",
                "type": "provincial",
                "reports": ["park_monthly", "enterprise_roster"],
                "config": {
                    "base_url": provincial_url,
                    "app_key": "demo-key",
                    "app_secret": "env:PROVINCE_PROVINCIAL_SECRET",
                },
            },
            {
                "name": "fire",
                "type": "fire",
                "reports": ["fire_events"],
                "config": {"base_url": fire_url, "api_key": "env:PROVINCE_FIRE_KEY"},
            },
        ],
        "dispatch": {"schedule": {"every_seconds": 1}, "batch_size": 500, "concurrency": 8},
    }


def reading_pages(p: int) -> Iterator[bytes]:
    """A park's day of readings as Qisheng pull pages: 450 meters x 96 quarter hours."""
    rows: list[dict[str, Any]] = []
    n = 0
    codes = [credit_code(division(p), 1 + p % 60 * ENTERPRISES + e) for e in range(ENTERPRISES)]
    for q in range(READINGS):
        stamp = f"{DAY.isoformat()} {q // 4:02d}:{q % 4 * 15:02d}:00"
        for e in range(ENTERPRISES):
            for m in range(METERS):
                n += 1
                rows.append({
                    "id": n, "meterNo": f"P{p}-E{e:03d}-M{m}", "meterType": "electric",
                    "entCreditCode": codes[e], "readTime": stamp,
                    "value": round(100 + n * 0.37, 2), "unit": "kWh", "periodType": "day",
                })  # fmt: skip
                if len(rows) == PAGE:
                    yield _page(rows)
                    rows = []
    if rows:
        yield _page(rows)


def _page(rows: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"code": 0, "msg": "success", "data": {"records": rows, "hasMore": True}})


def monthly(p: int) -> tuple[list[Enterprise], list[EnterpriseMonthly]]:
    """A park's roster and its enterprises' figures for the month."""
    roster, figures = [], []
    for e in range(ENTERPRISES):
        code = credit_code(division(p), 1 + p % 60 * ENTERPRISES + e)
        roster.append(Enterprise(park_id=park_id(p), credit_code=code, name=f"企业{p}-{e}",
                                 industry_code="3823", floor_area_m2=800.0))  # fmt: skip
        figures.append(EnterpriseMonthly(park_id=park_id(p), credit_code=code, period=PERIOD,
                                         output_value_yuan=1_000_000.0 + e, revenue_yuan=900_000.0,
                                         tax_yuan=30_000.0, employees=40,
                                         electricity_kwh=20_000.0))  # fmt: skip
    return roster, figures


class Alarms(threading.Thread):
    """CTWing smoke alarms pushed to `parkhub run` at a steady rate until stopped."""

    def __init__(self, base: str, per_second: float) -> None:
        super().__init__(daemon=True)
        self.url, self.pause, self.sent = f"{base}/push/ctwing/ctwing-alarms", 1 / per_second, 0
        self.halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.halt.is_set():
                stamp = str(1606982320277 + self.sent)
                body = ctwing_sim.DATA_REPORT_SMOKE.replace("1606982320277", stamp).encode()
                r = client.post(self.url, params={"token": CTWING_TOKEN}, content=body,
                                headers={"content-type": "application/json"})  # fmt: skip
                assert r.status_code == 200, r.text
                self.sent += 1
                self.halt.wait(self.pause)


def load(hub: Hub, parks: int) -> dict[str, float]:
    """The day's work in this process: readings, monthly data, reports, each timed (a park's
    pages and records are made before its clock starts)."""
    qs = QishengConfig.model_validate(config(1, "", "")["sources"][0]["config"])
    times = {"readings_s": 0.0, "monthly": 0.0, "reports": 0.0}
    readings = 0
    for p in range(parks):
        adapter = QishengAdapter(SourceContext(f"qs-{p}", park_id(p)), qs)
        stream = [
            (RawMessage(f"qs-{p}", "readings", body), ("readings", str(i)))
            for i, body in enumerate(reading_pages(p))
        ]
        roster, figures = monthly(p)
        started = time.perf_counter()
        readings += sum(r.new for r in hub.ingest_many(adapter, stream))
        times["readings_s"] += time.perf_counter() - started
        started = time.perf_counter()
        hub.ingest_records(roster, source=f"qs-{p}")
        hub.ingest_records(figures, source=f"qs-{p}")
        times["monthly"] += time.perf_counter() - started
    started = time.perf_counter()
    hub.build_reports(PERIOD)
    times["reports"] = time.perf_counter() - started
    return {**times, "readings_stored": readings}


def undelivered(hub: Hub) -> int:
    counts = hub.store.outbox.status_counts()
    return sum(n for by in counts.values() for s, n in by.items() if s not in ("sent", "dead"))


def latency(hub: Hub) -> dict[str, float]:
    """Fire alarms: push received -> the fire platform's acknowledgement, in ms."""
    query = text(
        "SELECT r.received_at, d.sent_at FROM deliveries d JOIN records c ON c.id = d.record_id "
        "JOIN raw_inbox r ON r.id = c.raw_id WHERE d.platform = 'fire' AND d.status = 'sent'"
    )
    with hub.store.db.connect() as conn:
        rows = conn.execute(query).all()

    def at(v: Any) -> dt.datetime:
        value = v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(str(v))
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)

    ms = sorted((at(s) - at(r)).total_seconds() * 1000 for r, s in rows)
    if not ms:
        return {"n": 0}
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return {"n": len(ms), "p50_ms": statistics.median(ms), "p99_ms": p99, "max_ms": ms[-1]}


def run(db_url: str, fraction: float, *, workers: int = 1, alarms: float = 10) -> dict[str, Any]:
    """One box, one database: the load here, `workers` x `parkhub run` beside it."""
    for name, value in SECRETS.items():
        os.environ.setdefault(name, value)
    parks = max(1, round(PARKS * fraction))
    tmp = Path(tempfile.mkdtemp(prefix="province-"))
    with (
        sandbox("provincial") as provincial_url,
        process([sys.executable, "-m", "bench._servers", "fire"]) as fire_url,
    ):
        data = config(parks, provincial_url, fire_url)
        hub = Hub.open(parse_config(data), url=db_url)  # migrates before the workers start
        cfg = tmp / "parkhub.yaml"
        cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        env = {"PARKHUB_DATABASE_URL": db_url}
        ports = [free_port() for _ in range(workers)]
        with contextlib.ExitStack() as stack:
            for port in ports:
                args = [sys.executable, "-m", "parkhub.cli", "run", "--config", str(cfg)]
                stack.enter_context(process([*args, "--port", str(port)], env, url_line=False))
            base = f"http://127.0.0.1:{ports[0]}"
            for port in ports:
                wait_http(f"http://127.0.0.1:{port}/healthz")
            tune_gc()
            pusher = Alarms(base, alarms)
            pusher.start()
            times = load(hub, parks)
            started = time.perf_counter()
            while undelivered(hub):
                time.sleep(0.05)
            drain = time.perf_counter() - started
            pusher.halt.set()
            pusher.join()
            time.sleep(2)  # the last alarms reach the fire platform
        counts = hub.store.outbox.status_counts()
        fire = latency(hub)
        hub.close()
    real = 86_400 * parks / PARKS
    elapsed = times["readings_s"] + times["monthly"] + times["reports"] + drain
    return {
        "parks": parks,
        "readings": parks * ENTERPRISES * METERS * READINGS,
        "workers": workers,
        "seconds": elapsed,
        **times,
        "drain_seconds": drain,
        "real_seconds": real,
        "times_real_time": real / elapsed,
        "provincial": counts.get("provincial", {}),
        "alarms_pushed": pusher.sent,
        "fire": fire,
    }


def summary(label: str, r: dict[str, Any]) -> str:
    f = r["fire"]
    fire = "no fire alarms"
    if f.get("n"):
        fire = (
            f"fire alarm p50 {f['p50_ms']:.0f} ms, p99 {f['p99_ms']:.0f} ms, "
            f"max {f['max_ms']:.0f} ms over {f['n']} alarms"
        )
    return (
        f"{label}: {r['parks']} parks ({r['readings']:,} readings, {r['parks'] / PARKS:.2%} of "
        f"the province) in {r['seconds']:.1f} s = {r['times_real_time']:.1f}x real time "
        f"(readings: {r['readings_stored'] / r['readings']:.0%} stored in "
        f"{r['readings_s']:.1f} s; monthly data {r['monthly']:.1f} s; reports {r['reports']:.1f} s;"
        f" outbox drained {r['drain_seconds']:.1f} s after; provincial "
        f"{r['provincial']}); {r['workers']} worker(s); {fire}"
    )


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--fraction", type=float, default=0.01, help="of the 1,100 parks")
    args.add_argument("--alarms-per-second", type=float, default=10)
    args.add_argument("--postgres", help="a PostgreSQL URL (else the env variables)")
    args.add_argument("--no-sqlite", action="store_true")
    opts = args.parse_args()
    pg = (opts.postgres or os.environ.get("PARKHUB_BENCH_POSTGRES_URL")
          or os.environ.get("PARKHUB_TEST_POSTGRES_URL"))  # fmt: skip
    if not opts.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            r = run(f"sqlite:///{tmp}/province.db", opts.fraction, alarms=opts.alarms_per_second)
        print(summary("SQLite, 1 worker", r), flush=True)
    if pg:
        from bench.pg import fresh_schema

        with fresh_schema(pg) as url:
            r = run(url, opts.fraction, workers=2, alarms=opts.alarms_per_second)
        print(summary("PostgreSQL, 2 workers", r), flush=True)


if __name__ == "__main__":
    main()
