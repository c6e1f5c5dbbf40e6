"""`parkhub demo`: the whole hub end to end on SQLite against the loopback simulators."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from parkhub.canonical.timeutil import previous_period, utcnow
from parkhub.config import HubConfig, parse_config
from parkhub.hub import Hub
from parkhub.protocols.hj212 import data_frame
from parkhub.sandbox.econ_sim import EconSim
from parkhub.sandbox.fire_sim import FireSim
from parkhub.sandbox.hj212_platform import Hj212PlatformThread, send_frames
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.qisheng_sim import QishengSim
from parkhub.sandbox.safety_sim import SafetySim
from parkhub.sandbox.server import ServerHandle, serve_in_thread
from parkhub.sandbox.stats_sim import StatsSim
from parkhub.store import DeliveryStatus
from parkhub.web.tcp import TcpListeners

PARK_ID = "wz-lc-0001"
PARK_NAME = "鹿城智造小微企业园"
LOGGER_MN = "LCWS0000000000000001"
LOGGER_CREDIT_CODE = "913303020000000278"
DEMO_SECRETS = {  # sandbox-only credentials, known to the simulators
    "PARKHUB_DEMO_QISHENG_SECRET": "demo-secret",
    "PARKHUB_DEMO_PROVINCIAL_SECRET": "demo-secret",
    "PARKHUB_DEMO_ECON_SECRET": "demo-secret",
    "PARKHUB_DEMO_SAFETY_SECRET": "demo-secret",
    "PARKHUB_DEMO_FIRE_KEY": "demo-fire-key",
    "PARKHUB_DEMO_STATS_TOKEN": "demo-upload-token",
    "PARKHUB_DEMO_ECOLOGY_PW": "987654",
}
DEMO_RETRY = {
    "short_retries": 1,
    "short_wait_seconds": 0.05,
    "base_seconds": 1,
    "max_backoff_seconds": 4,
    "max_attempts": 8,
}


def _platform(name: str, reports: list[str], config: dict[str, Any]) -> dict[str, Any]:
    """A platform of the demo, named after its type, on the demo's quick retry policy."""
    return {"name": name, "type": name, "reports": reports, "config": config, "retry": DEMO_RETRY}


def _department_platforms(urls: dict[str, str], export_dir: Path) -> list[dict[str, Any]]:
    """The departments' platforms: 经信, 应急管理, 消防, 统计, 生态环境 (sandbox addresses)."""
    ecology_device = {
        "mn": "33030200ECO00001",
        "password": "env:PARKHUB_DEMO_ECOLOGY_PW",
        "st": "32",
    }
    return [
        _platform(
            "econ",
            ["enterprise_monthly", "park_monthly"],
            {"base_url": urls["econ"], "client_id": "demo-client",
             "client_secret": "env:PARKHUB_DEMO_ECON_SECRET"},
        ),
        _platform(
            "safety",
            ["hazards"],
            {"base_url": urls["safety"], "api_key": "demo-key",
             "api_secret": "env:PARKHUB_DEMO_SAFETY_SECRET"},
        ),
        _platform(
            "fire",
            ["fire_events"],
            {"base_url": urls["fire"], "api_key": "env:PARKHUB_DEMO_FIRE_KEY"},
        ),
        _platform(
            "stats",
            ["enterprise_monthly"],
            {"export_dir": str(export_dir), "upload_url": urls["stats"] + "/upload",
             "upload_token": "env:PARKHUB_DEMO_STATS_TOKEN", "park_names": {PARK_ID: PARK_NAME}},
        ),
        _platform(
            "ecology",
            ["monitoring_data"],
            {"host": "127.0.0.1", "port": int(urls["ecology"].rsplit(":", 1)[1]),
             "timeout_seconds": 2, "retries": 1, "devices": {"ww-outlet-1": ecology_device}},
        ),
    ]  # fmt: skip


def _sources(urls: dict[str, str], hj212_port: int) -> list[dict[str, Any]]:
    """A Qisheng smart-park platform pulled every 5 minutes, and a wastewater data logger."""
    return [
        {
            "name": "qisheng-lc",
            "vendor": "qisheng",
            "park": PARK_ID,
            "schedule": {"every_seconds": 300},
            "config": {
                "base_url": urls["qisheng"],
                "app_id": "demo-app",
                "app_secret": "env:PARKHUB_DEMO_QISHENG_SECRET",
            },
        },
        {
            "name": "hj212-lc",
            "vendor": "hj212",
            "park": PARK_ID,
            "config": {
                "port": hj212_port,
                "devices": {
                    LOGGER_MN: {"device_id": "ww-outlet-1", "credit_code": LOGGER_CREDIT_CODE}
                },
            },
        },
    ]


def demo_config(
    urls: dict[str, str], database_url: str, export_dir: Path | None = None, hj212_port: int = 0
) -> HubConfig:
    """The demo's parkhub.yaml: one park, two sources, every platform (sandbox URLs); with only
    the provincial platform's URL, only that platform."""
    for name, value in DEMO_SECRETS.items():
        os.environ.setdefault(name, value)
    return parse_config(demo_config_data(urls, database_url, export_dir, hj212_port), origin="demo")


def demo_config_data(
    urls: dict[str, str], database_url: str, export_dir: Path | None = None, hj212_port: int = 0
) -> dict[str, Any]:
    """The demo's parkhub.yaml as data (secrets as env:PARKHUB_DEMO_*; DEMO_SECRETS)."""
    provincial = _platform(
        "provincial",
        ["park_monthly", "enterprise_roster"],
        {"base_url": urls["provincial"], "app_key": "demo-key",
         "app_secret": "env:PARKHUB_DEMO_PROVINCIAL_SECRET", "timeout_seconds": 5},
    )  # fmt: skip
    platforms = [provincial]
    if "econ" in urls:
        platforms += _department_platforms(urls, export_dir or Path("var/stats-export"))
    park = {
        "id": PARK_ID,
        "name": PARK_NAME,
        "division_code": "330302",
        "address": "温州市鹿城区双屿街道",
        "operator": "温州鹿城园区运营有限公司",
        "land_area_m2": 86000,
        "floor_area_m2": 152000,
    }
    data = {
        "database_url": database_url,
        "parks": [park],
        "sources": _sources(urls, hj212_port),
        "platforms": platforms,
        "dispatch": {"schedule": {"every_seconds": 1}, "batch_size": 100},
    }
    return data


class Sandbox:
    """The simulators of the demo, each a real HTTP or TCP server on 127.0.0.1."""

    def __init__(self, period: str, *, ports: dict[str, int] | None = None) -> None:
        """`ports`: fixed loopback ports by simulator name (default: any free ones)."""
        self.ports = ports or {}
        self.qisheng = QishengSim(period=period)
        self.provincial = ProvincialSim()
        self.econ = EconSim()
        self.safety = SafetySim()
        self.fire = FireSim()
        self.stats = StatsSim()
        self.ecology = Hj212PlatformThread(port=self.ports.get("ecology", 0))
        self.handles: dict[str, ServerHandle] = {}

    def start(self) -> Sandbox:
        for name in ("qisheng", "provincial", "econ", "safety", "fire", "stats"):
            app = getattr(self, name).app
            self.handles[name] = serve_in_thread(app, port=self.ports.get(name, 0))
        self.ecology.start()
        return self

    @property
    def urls(self) -> dict[str, str]:
        urls = {name: h.url for name, h in self.handles.items()}
        urls["ecology"] = f"tcp://127.0.0.1:{self.ecology.port}"
        return urls

    def accepted(self) -> dict[str, int]:
        return {
            "provincial": len(self.provincial.accepted),
            "econ": len(self.econ.accepted),
            "safety": len(self.safety.accepted),
            "fire": len(self.fire.accepted),
            "stats": len(self.stats.latest),
            "ecology": len(self.ecology.received),
        }

    def stop(self) -> None:
        for h in self.handles.values():
            h.stop()
        self.ecology.stop()


def status_table(status: dict[str, Any]) -> Table:
    table = Table(title="投递状态 Delivery status")
    for col in ("平台 platform", "sent", "pending", "failed", "dead"):
        table.add_column(col, justify="right" if col != "平台 platform" else "left")
    for name, c in status["platforms"].items():
        table.add_row(name, str(c["sent"]), str(c["pending"]), str(c["failed"]), str(c["dead"]))
    return table


def logger_frames(period: str) -> list[Any]:
    """Two hours of wastewater outlet data, as the park's data logger (数采仪) uploads it."""
    year, month = (int(x) for x in period.split("-"))
    start = dt.datetime(year, month, 28, 0, 0, tzinfo=dt.UTC)
    return [
        data_frame(
            "2061",
            st="32",
            mn=LOGGER_MN,
            pw="123456",
            data_time=start + dt.timedelta(hours=h),
            factors={
                "w01018": {"Avg": f"{38.2 + h:.1f}", "Flag": "N"},
                "w21003": {"Avg": f"{1.83 + h / 10:.2f}", "Flag": "N"},
                "w00000": {"Cou": f"{120.5 + h:.1f}", "Flag": "N"},
            },
        )
        for h in range(2)
    ]


def _collect(hub: Hub, tcp: TcpListeners, period: str, console: Console) -> None:
    console.rule("[bold]1. 采集 Collect: pull Qisheng, receive HJ 212 from a data logger")
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
    port = tcp.start()["hj212-lc"]
    answers = send_frames("127.0.0.1", port, logger_frames(period))
    console.print(
        f"  data logger {LOGGER_MN} → HJ 212 listener :{port}: {len(answers)} uploads, "
        f"answered {', '.join(a.cn for a in answers)} (after storing)"
    )


def _build(hub: Hub, period: str, console: Console) -> None:
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
            console.print(f"  [yellow]missing monthly data for {len(inputs.missing)}: {names}[/]")


def _deliver(hub: Hub, sandbox: Sandbox, outage_seconds: float, console: Console) -> None:
    console.rule("[bold]3. 报送 Deliver to every platform (the provincial one has an outage)")
    sandbox.provincial.outage(outage_seconds)
    console.print(f"  provincial platform down for {outage_seconds:.0f} s (HTTP 503)")
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        stats = hub.dispatch()
        if stats.claimed:
            console.print(
                f"  dispatch: {stats.sent} sent, {stats.failed} to retry, {stats.dead} dead"
            )
        platforms = hub.status()["platforms"].values()
        if all(c["pending"] == 0 and c["failed"] == 0 for c in platforms):
            break
        time.sleep(0.5)


def _receipts(hub: Hub, platforms: list[str]) -> Table:
    table = Table(title="回执 Receipts (latest per platform)")
    for col in ("id", "platform", "report", "record", "rev", "tries", "receipt"):
        table.add_column(col)
    for name in platforms:
        for d in hub.store.outbox.deliveries(status=[DeliveryStatus.SENT], platform=name, limit=2):
            table.add_row(
                str(d["id"]),
                name,
                d["report"],
                d["record_key"][:28],
                str(d["revision"]),
                str(d["attempts"]),
                d["receipt_id"] or "",
            )
    return table


def _report(hub: Hub, sandbox: Sandbox, export_dir: Path, console: Console) -> dict[str, Any]:
    console.rule("[bold]4. 状态 Status")
    status = hub.status()
    console.print(status_table(status))
    console.print(_receipts(hub, list(status["platforms"])))
    accepted = sandbox.accepted()
    console.print(
        "  sandboxes accepted: "
        + ", ".join(f"{k} {v}" for k, v in accepted.items())
        + f"; {sandbox.provincial.duplicates} repeats dropped by idempotency key"
    )
    for f in sorted(export_dir.glob("*.xlsx")):
        console.print(f"  统计报表 stats workbook: {f}")
    return {"status": status, "accepted": accepted, "export_dir": export_dir}


def run_demo(
    *,
    workdir: Path = Path("var"),
    console: Console | None = None,
    outage_seconds: float = 3.0,
    then: Callable[[Hub], None] | None = None,
) -> dict[str, Any]:
    """The whole hub end to end on the sandbox: collect, build, deliver through an outage,
    show what reached whom. `then`: run with the hub before it closes (e.g. serve the console)."""
    console = console or Console()
    started = time.monotonic()
    period = previous_period(utcnow())
    sandbox = Sandbox(period).start()
    db = workdir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    export_dir = workdir / "stats-export"
    config = demo_config(sandbox.urls, f"sqlite:///{db}", export_dir)
    hub = Hub.open(config, url=f"sqlite:///{db}")
    tcp = TcpListeners(hub)
    try:
        _collect(hub, tcp, period, console)
        _build(hub, period, console)
        _deliver(hub, sandbox, outage_seconds, console)
        result = _report(hub, sandbox, export_dir, console)
        result["elapsed"] = elapsed = time.monotonic() - started
        console.print(f"[bold green]demo finished in {elapsed:.1f} s[/]  database: {db}")
        if then is not None:  # e.g. keep the console running while the simulators are up
            then(hub)
        return result
    finally:
        tcp.stop()
        hub.close()
        sandbox.stop()
