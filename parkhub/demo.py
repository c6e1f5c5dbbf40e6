"""`parkhub demo`: the whole hub end to end on SQLite against the loopback simulators."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from parkhub.canonical.timeutil import previous_period, utcnow
from parkhub.config import HubConfig, parse_config
from parkhub.hub import Hub
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.qisheng_sim import QishengSim
from parkhub.sandbox.server import ServerHandle, serve_in_thread

PARK_ID = "wz-lc-0001"
DEMO_SECRETS = {  # sandbox-only credentials, known to the simulators
    "PARKHUB_DEMO_QISHENG_SECRET": "demo-secret",
    "PARKHUB_DEMO_PROVINCIAL_SECRET": "demo-secret",
}


def demo_config(qisheng_url: str, provincial_url: str, database_url: str) -> HubConfig:
    for name, value in DEMO_SECRETS.items():
        os.environ.setdefault(name, value)
    return parse_config(
        {
            "database_url": database_url,
            "parks": [
                {
                    "id": PARK_ID,
                    "name": "鹿城智造小微企业园",
                    "division_code": "330302",
                    "address": "温州市鹿城区双屿街道",
                    "operator": "温州鹿城园区运营有限公司",
                    "land_area_m2": 86000,
                    "floor_area_m2": 152000,
                }
            ],
            "sources": [
                {
                    "name": "qisheng-lc",
                    "vendor": "qisheng",
                    "park": PARK_ID,
                    "schedule": {"every_seconds": 300},
                    "config": {
                        "base_url": qisheng_url,
                        "app_id": "demo-app",
                        "app_secret": "env:PARKHUB_DEMO_QISHENG_SECRET",
                    },
                }
            ],
            "platforms": [
                {
                    "name": "provincial",
                    "type": "provincial",
                    "config": {
                        "base_url": provincial_url,
                        "app_key": "demo-key",
                        "app_secret": "env:PARKHUB_DEMO_PROVINCIAL_SECRET",
                        "timeout_seconds": 5,
                    },
                    "reports": ["park_monthly", "enterprise_roster"],
                    "retry": {
                        "short_retries": 1,
                        "short_wait_seconds": 0.05,
                        "base_seconds": 1,
                        "max_backoff_seconds": 4,
                        "max_attempts": 8,
                    },
                }
            ],
            "dispatch": {"schedule": {"every_seconds": 1}, "batch_size": 100},
        },
        origin="demo",
    )


class Sandbox:
    """The simulators of the demo, each a real HTTP server on 127.0.0.1."""

    def __init__(self, period: str) -> None:
        self.qisheng = QishengSim(period=period)
        self.provincial = ProvincialSim()
        self.handles: list[ServerHandle] = []

    def start(self) -> Sandbox:
        self.handles = [serve_in_thread(self.qisheng.app), serve_in_thread(self.provincial.app)]
        return self

    @property
    def qisheng_url(self) -> str:
        return self.handles[0].url

    @property
    def provincial_url(self) -> str:
        return self.handles[1].url

    def stop(self) -> None:
        for h in self.handles:
            h.stop()


def status_table(status: dict[str, Any]) -> Table:
    table = Table(title="投递状态 Delivery status")
    for col in ("平台 platform", "sent", "pending", "failed", "dead"):
        table.add_column(col, justify="right" if col != "平台 platform" else "left")
    for name, c in status["platforms"].items():
        table.add_row(name, str(c["sent"]), str(c["pending"]), str(c["failed"]), str(c["dead"]))
    return table


def run_demo(
    *, workdir: Path = Path("var"), console: Console | None = None, outage_seconds: float = 3.0
) -> dict[str, Any]:
    console = console or Console()
    started = time.monotonic()
    period = previous_period(utcnow())
    sandbox = Sandbox(period).start()
    db = workdir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    config = demo_config(sandbox.qisheng_url, sandbox.provincial_url, f"sqlite:///{db}")
    hub = Hub.open(config, url=f"sqlite:///{db}")
    try:
        console.rule("[bold]1. 拉取启盛平台数据 Pull from the Qisheng sandbox")
        for r in hub.sync():
            console.print(
                f"  {r.source}: {r.messages} pages, {r.new} new records, "
                f"{r.deliveries} deliveries queued, {len(r.errors)} rejected"
            )
            for err in r.errors:
                console.print(f"  [yellow]✗ {err}[/]  (raw kept; fix and `parkhub reparse`)")
        again = hub.sync()
        console.print(
            f"  re-sync: {sum(r.new + r.changed for r in again)} new or changed "
            f"records (idempotent ingest)"
        )

        console.rule(f"[bold]2. 生成园区月报 Build the park monthly report for {period}")
        for inputs, _result in hub.build_reports(period):
            rep = inputs.report
            console.print(
                f"  {rep.park_name}: {rep.enterprise_count} enterprises "
                f"({rep.above_scale_count} above scale), revenue "
                f"{rep.revenue_yuan / 1e4:,.2f} 万元, tax {rep.tax_yuan / 1e4:,.2f} 万元, "
                f"electricity {rep.electricity_kwh:,.0f} kWh"
            )
            if inputs.missing:
                names = ", ".join(m["name"] for m in inputs.missing)
                console.print(
                    f"  [yellow]missing monthly data for {len(inputs.missing)}: {names}[/]"
                )

        console.rule("[bold]3. 报送省平台 Deliver to the provincial sandbox (with an outage)")
        sandbox.provincial.outage(outage_seconds)
        console.print(f"  provincial platform down for {outage_seconds:.0f} s (HTTP 503)")
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            stats = hub.dispatch()
            if stats.claimed:
                console.print(
                    f"  dispatch: {stats.sent} sent, {stats.failed} to retry, {stats.dead} dead"
                )
            counts = hub.status()["platforms"]["provincial"]
            if counts["pending"] == 0 and counts["failed"] == 0:
                break
            time.sleep(0.5)

        console.rule("[bold]4. 状态 Status")
        status = hub.status()
        console.print(status_table(status))
        receipts = Table(title="回执 Receipts (provincial)")
        for col in ("id", "report", "record", "rev", "attempts", "receipt"):
            receipts.add_column(col)
        for d in hub.store.deliveries(status=["sent"], limit=8):
            receipts.add_row(
                str(d["id"]),
                d["report"],
                d["record_key"],
                str(d["revision"]),
                str(d["attempts"]),
                d["receipt_id"] or "",
            )
        console.print(receipts)
        accepted = len(sandbox.provincial.accepted)
        console.print(
            f"  provincial sandbox accepted {accepted} payloads, "
            f"{sandbox.provincial.duplicates} repeats dropped by idempotency key"
        )
        elapsed = time.monotonic() - started
        console.print(f"[bold green]demo finished in {elapsed:.1f} s[/]  database: {db}")
        return {"status": status, "accepted": accepted, "elapsed": elapsed}
    finally:
        hub.close()
        sandbox.stop()
