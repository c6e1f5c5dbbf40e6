"""The `parkhub` command line (typer + rich)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from parkhub.canonical import jsonutil
from parkhub.canonical.timeutil import as_utc, previous_period
from parkhub.config import HubConfig, config_json_schema, load_config
from parkhub.errors import ParkhubError

app = typer.Typer(
    help="parkhub: 小微企业园数据中枢 — enter park data once, report it everywhere.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
reports_app = typer.Typer(help="Period reports (园区月报).", no_args_is_help=True)
app.add_typer(reports_app, name="reports")
hj212_app = typer.Typer(
    help="HJ 212 tools for debugging a data logger on site.", no_args_is_help=True
)
app.add_typer(hj212_app, name="hj212")
console = Console()
err_console = Console(stderr=True)

ConfigOpt = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="PARKHUB_CONFIG", help="parkhub.yaml to use"),
]
DEFAULT_CONFIG = Path("parkhub.yaml")


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _config(path: Path) -> HubConfig:
    try:
        return load_config(path)
    except ParkhubError as exc:
        err_console.print(f"[red]配置错误 config error:[/] {exc}")
        raise typer.Exit(2) from None


def _hub(path: Path) -> Any:
    from parkhub.hub import Hub
    from parkhub.ingest.tuning import tune_gc

    config = _config(path)
    try:
        hub = Hub.open(config)
    except ParkhubError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    tune_gc()  # what start-up loaded stays out of every collection from here on
    return hub


def _when(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return as_utc(dt.datetime.fromisoformat(value))
    except ValueError:
        err_console.print(f"[red]bad time {value!r}[/]: use ISO 8601, e.g. 2026-11-01T08:00")
        raise typer.Exit(2) from None


SAMPLE_CONFIG = """\
# parkhub.yaml — one file for parks, sources, platforms and schedules.
# Secrets are never written here: use env:NAME (environment) or file:NAME (PARKHUB_SECRETS_FILE).
# JSON Schema: `parkhub schema` (editors can validate this file with it).
database_url: sqlite:///var/parkhub.db   # or postgresql://user@host/db; PARKHUB_DATABASE_URL wins

parks:
  - id: wz-lc-0001
    name: 鹿城智造小微企业园
    division_code: "330302"      # GB/T 2260 鹿城区
    land_area_m2: 86000
    floor_area_m2: 152000

sources:
  - name: qisheng-lc
    vendor: qisheng
    park: wz-lc-0001
    schedule: {every_seconds: 300}
    config:
      base_url: https://qisheng.example.com
      app_id: YOUR_APP_ID
      app_secret: env:QISHENG_APP_SECRET

platforms:
  - name: provincial
    type: provincial
    config:
      base_url: https://provincial.example.com
      app_key: YOUR_APP_KEY
      app_secret: env:PROVINCIAL_APP_SECRET
    reports: [park_monthly, enterprise_roster]
    retry: {max_attempts: 10, base_seconds: 30, max_backoff_seconds: 3600}

dispatch:
  schedule: {every_seconds: 5}
reports:
  monthly: {cron: "0 1 1 * *"}   # 01:00 on the 1st, Beijing time: build last month's reports
"""


@app.command()
def init(
    config: ConfigOpt = DEFAULT_CONFIG,
    force: Annotated[bool, typer.Option(help="overwrite an existing file")] = False,
) -> None:
    """Write a starter parkhub.yaml (if missing) and create or upgrade the database."""
    if config.exists() and not force:
        console.print(f"{config} exists; keeping it")
    else:
        config.write_text(SAMPLE_CONFIG, encoding="utf-8")
        console.print(f"wrote {config}: edit parks, sources and platforms, then `parkhub sync`")
    import yaml

    from parkhub.config import parse_config
    from parkhub.store import Store, database_url

    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    try:
        cfg = parse_config(data, origin=str(config), check_adapters=False)
    except ParkhubError as exc:
        err_console.print(f"[red]配置错误 config error:[/] {exc}")
        raise typer.Exit(2) from None
    url = database_url(cfg.database_url)
    Store.open(url).close()
    console.print(f"database ready: {url.split('@')[-1]}")


@app.command()
def sync(
    source: Annotated[
        str | None, typer.Argument(help="one source (default: all scheduled)")
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Pull from vendor sources now, from their saved cursors."""
    _setup_logging()
    hub = _hub(config)
    try:
        results = hub.sync(source)
    finally:
        hub.close()
    failed = False
    for r in results:
        line = (
            f"{r.source}: {r.messages} messages, {r.new} new, {r.changed} changed, "
            f"{r.unchanged} unchanged, {r.deliveries} deliveries queued"
        )
        console.print(line)
        for e in r.errors:
            console.print(f"  [yellow]rejected[/] {e}")
        for w in r.warnings:
            console.print(f"  [dim]warning[/] {w}")
        if r.failure:
            failed = True
            console.print(f"  [red]failed:[/] {r.failure}")
    raise typer.Exit(1 if failed else 0)


@app.command()
def dispatch(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Send every due delivery now (until nothing is due)."""
    _setup_logging()
    hub = _hub(config)
    try:
        stats = hub.dispatch()
    finally:
        hub.close()
    console.print(
        f"claimed {stats.claimed}: {stats.sent} sent, {stats.failed} to retry, "
        f"{stats.dead} dead, {stats.superseded} superseded"
    )
    for e in stats.errors[:20]:
        console.print(f"  [yellow]{e}[/]")


@reports_app.command("build")
def reports_build(
    period: Annotated[str | None, typer.Option(help="YYYY-MM (default: last month)")] = None,
    park: Annotated[str | None, typer.Option(help="one park id")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Build the monthly park report(s) and queue them for delivery."""
    hub = _hub(config)
    try:
        out = hub.build_reports(period or previous_period(), park=park)
    finally:
        hub.close()
    for inputs, res in out:
        r = inputs.report
        change = "new" if res.new else "revised" if res.changed else "unchanged"
        console.print(
            f"{r.park_id} {r.period}: {change}; {r.enterprise_count} enterprises, "
            f"{r.reporting_enterprises} reporting, {res.deliveries} deliveries queued"
        )
        for m in inputs.missing:
            console.print(f"  [yellow]missing[/] {m['credit_code']} {m['name']}")


@app.command()
def status(
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
) -> None:
    """What reached whom: per platform sent / pending / failed / dead."""
    from parkhub.demo import status_table

    hub = _hub(config)
    try:
        st = hub.status()
    finally:
        hub.close()
    if as_json:
        sys.stdout.write(jsonutil.dumps_str(st) + "\n")
        return
    console.print(status_table(st))
    if st["inbox_problems"]:
        t = Table(title="收件箱问题 Inbox problems (raw kept; `parkhub reparse` after a fix)")
        for col in ("raw", "source", "stream", "status", "reason"):
            t.add_column(col)
        for p in st["inbox_problems"]:
            t.add_row(str(p["raw_id"]), p["source"], p["stream"], p["status"], p["reason"] or "")
        console.print(t)


@app.command()
def calendar(
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Next deadlines per park and platform report, and which enterprises have no data yet."""
    hub = _hub(config)
    try:
        entries = [e.as_dict() for e in hub.calendar()]
    finally:
        hub.close()
    if as_json:
        sys.stdout.write(jsonutil.dumps_str(entries) + "\n")
        return
    t = Table(title="报送日历 Reporting calendar")
    for col in ("park", "platform", "report", "period", "deadline", "state", "sent", "missing"):
        t.add_column(col)
    colours = {"delivered": "green", "late": "red", "failed": "red", "at_risk": "yellow"}
    for e in entries:
        colour = colours.get(e["state"], "white")
        names = "、".join(m["name"] for m in e["missing"][:5])
        more = f" +{len(e['missing']) - 5}" if len(e["missing"]) > 5 else ""
        t.add_row(
            e["park"],
            e["platform"],
            e["report"],
            e["period"],
            e["deadline"][:16],
            f"[{colour}]{e['state']}[/]",
            f"{e['delivered']}/{e['expected']}",
            f"{len(e['missing'])} {names}{more}".strip(),
        )
    console.print(t)


@app.command()
def platforms(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """The configured platforms with their reports, record kinds, cadences and deadlines."""
    from parkhub.adapters.registry import platform_class
    from parkhub.reports.calendar import PERIODIC_KINDS

    cfg = _config(config)
    t = Table(title="平台与报表 Platforms and reports")
    for col in (
        "platform",
        "type",
        "report",
        "records",
        "cadence",
        "deadline",
        "priority",
        "description",
    ):
        t.add_column(col)
    for pc in cfg.platforms:
        cls = platform_class(pc.type)
        for sub in pc.subscriptions():
            spec = cls.reports[sub.report]
            cadence = sub.cadence or PERIODIC_KINDS.get(spec.record_kind, "realtime")
            due = f"by the {sub.deadline_day}th" if cadence in ("monthly", "quarterly") else "-"
            t.add_row(
                pc.name + ("" if pc.enabled else " (disabled)"),
                pc.type,
                sub.report,
                spec.record_kind,
                cadence,
                due,
                str(spec.priority),
                spec.description,
            )
    console.print(t)


@app.command()
def deliveries(
    status_: Annotated[
        list[str] | None, typer.Option("--status", help="pending, failed, dead, sent, ...")
    ] = None,
    platform: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """List deliveries with their attempts, last error and receipt."""
    hub = _hub(config)
    try:
        rows = hub.store.outbox.deliveries(status=status_, platform=platform, limit=limit)
    finally:
        hub.close()
    if as_json:
        keep = (
            "id",
            "platform",
            "report",
            "record_kind",
            "record_key",
            "revision",
            "status",
            "attempts",
            "last_error",
            "receipt_id",
            "idempotency_key",
        )
        out = [{k: r[k] for k in keep} | {"updated_at": r["updated_at"].isoformat()} for r in rows]
        sys.stdout.write(jsonutil.dumps_str(out) + "\n")
        return
    t = Table(title="投递 Deliveries")
    for col in ("id", "platform", "report", "record", "rev", "status", "tries", "receipt / error"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r["id"]),
            r["platform"],
            r["report"],
            r["record_key"],
            str(r["revision"]),
            r["status"],
            str(r["attempts"]),
            r["receipt_id"] or (r["last_error"] or "")[:80],
        )
    console.print(t)


@app.command()
def replay(
    platform: Annotated[str | None, typer.Option()] = None,
    since: Annotated[str | None, typer.Option(help="ISO time, Beijing if no zone")] = None,
    until: Annotated[str | None, typer.Option()] = None,
    error: Annotated[str | None, typer.Option(help="last error contains this text")] = None,
    delivery_id: Annotated[list[int] | None, typer.Option("--id")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Queue dead deliveries again (same idempotency key: the platform drops true repeats)."""
    hub = _hub(config)
    try:
        n = hub.replay(
            platform=platform,
            since=_when(since),
            until=_when(until),
            error_contains=error,
            ids=delivery_id,
        )
    finally:
        hub.close()
    console.print(f"{n} deliveries queued again; run `parkhub dispatch` or wait for `parkhub run`")


@app.command()
def reparse(
    source: Annotated[str | None, typer.Option()] = None,
    raw_id: Annotated[list[int] | None, typer.Option("--id")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Parse rejected or partly rejected raw messages again, after a fix."""
    hub = _hub(config)
    try:
        results = hub.reparse(source=source, ids=raw_id)
    finally:
        hub.close()
    for r in results:
        console.print(f"raw {r.raw_id}: {r.status}; {r.new} new, {r.changed} changed")
        for e in r.errors:
            console.print(f"  [yellow]{e}[/]")
    console.print(f"{len(results)} raw messages parsed again")


HostOpt = Annotated[str, typer.Option(help="address for the web app (push receivers, API)")]
PortOpt = Annotated[int, typer.Option(help="port for the web app")]


def _serve_web(hub: Any, host: str, port: int) -> Any:
    import uvicorn

    from parkhub.web.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(hub), host=host, port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True, name="web")
    thread.start()
    console.print(f"web app on http://{host}:{port} (push: /push/<vendor>/<source>, API: /docs)")
    return server


@app.command()
def run(
    config: ConfigOpt = DEFAULT_CONFIG,
    web: Annotated[bool, typer.Option(help="also serve push receivers and the API")] = True,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
) -> None:
    """Run the hub in one process: scheduled pulls, dispatch, report builds and the web app."""
    from parkhub.scheduler.service import Service

    _setup_logging(verbose=True)
    hub = _hub(config)
    service = Service(hub.store.db.leader_lock, hub.jobs())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    hub.recover_inbox()
    hub.start_fast_lane()
    service.start()
    server = _serve_web(hub, host, port) if web else None
    tcp = _listen_tcp(hub)
    console.print(f"parkhub running with {len(service.jobs)} jobs (pid {os.getpid()})")
    try:
        stop.wait()
    finally:
        if server is not None:
            server.should_exit = True
        tcp.stop()
        service.stop()
        hub.close()


def _listen_tcp(hub: Any) -> Any:
    from parkhub.web.tcp import TcpListeners

    tcp = TcpListeners(hub)
    for source, port in tcp.start().items():
        console.print(f"HJ 212 listener for {source} on port {port}")
    return tcp


@app.command()
def serve(
    config: ConfigOpt = DEFAULT_CONFIG, host: HostOpt = "127.0.0.1", port: PortOpt = 8000
) -> None:
    """Serve only the web app: push receivers, the JSON API and /metrics (no scheduler)."""
    import uvicorn

    from parkhub.web.app import create_app

    _setup_logging()
    hub = _hub(config)
    tcp = _listen_tcp(hub)
    try:
        uvicorn.run(create_app(hub), host=host, port=port, log_level="warning")
    finally:
        tcp.stop()
        hub.close()


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="where the demo database goes")] = Path("var"),
    serve: Annotated[
        bool, typer.Option(help="keep the console running on the demo's data")
    ] = False,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
) -> None:
    """Run the whole hub end to end on SQLite against the loopback simulators."""
    from parkhub.demo import run_demo

    logging.basicConfig(level=logging.ERROR)
    then = None
    if serve:
        from parkhub.web.demo import serve_demo_console

        def then(hub: Any) -> None:
            serve_demo_console(hub, host=host, port=port, echo=console.print)

    result = run_demo(workdir=workdir, console=console, then=then)
    counts = result["status"]["platforms"]
    if any(c["pending"] or c["failed"] or c["dead"] for c in counts.values()):
        raise typer.Exit(1)


@app.command()
def schema(
    what: Annotated[
        str, typer.Argument(help="config, or a vendor/platform adapter name")
    ] = "config",
) -> None:
    """Print a JSON Schema: parkhub.yaml, or one adapter's config block."""
    from parkhub.adapters.registry import platform_class, platform_names, vendor_class, vendor_names

    if what == "config":
        out = config_json_schema()
    elif what in vendor_names():
        out = vendor_class(what).config_model.model_json_schema()
    elif what in platform_names():
        out = platform_class(what).config_model.model_json_schema()
    else:
        err_console.print(f"unknown schema {what!r}")
        raise typer.Exit(2)
    sys.stdout.write(jsonutil.dumps_str(out) + "\n")


@app.command()
def check(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Validate parkhub.yaml and every adapter's config (secrets resolved, never printed)."""
    cfg = _config(config)
    console.print(
        f"[green]ok[/]: {len(cfg.parks)} parks, {len(cfg.sources)} sources, "
        f"{len(cfg.platforms)} platforms"
    )


entry_app = typer.Typer(
    help="人工填报 Operator data entry: Excel templates out, filled files in.",
    no_args_is_help=True,
)
app.add_typer(entry_app, name="entry")


@entry_app.command("template")
def entry_template(
    park: Annotated[str, typer.Option(help="park id")],
    period: Annotated[str | None, typer.Option(help="YYYY-MM (default: last month)")] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="default: <park name>_<period>_<sheet>.xlsx"),
    ] = None,
    kind: Annotated[
        str, typer.Option(help="enterprise_monthly (月度数据) or enterprise_roster (企业名录)")
    ] = "enterprise_monthly",
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Write the Excel entry template of a park, prefilled with its enterprises."""
    from parkhub.adapters.vendors.manual import template_filename

    period = period or previous_period()
    hub = _hub(config)
    try:
        body = hub.entry_template(park, period, kind=kind)
        target = output or Path(template_filename(hub.config.park(park), period, kind))
    except (ParkhubError, ValueError) as exc:
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    finally:
        hub.close()
    target.write_bytes(body)
    console.print(f"wrote {target}: fill it in Excel or WPS, then `parkhub entry import {target}`")


@entry_app.command("import")
def entry_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".xlsx or .csv")],
    park: Annotated[
        str | None, typer.Option(help="park id (default: the template's, or the only park)")
    ] = None,
    kind: Annotated[
        str | None, typer.Option(help="enterprise_monthly or enterprise_roster (default: detect)")
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="YYYY-MM, for a CSV without a period column")
    ] = None,
    move: Annotated[
        bool,
        typer.Option(
            "--move",
            help="企业迁入: take enterprises stored for another park into this one (audited)",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Import a filled workbook or CSV: valid rows are stored, invalid rows are listed.

    A file naming an enterprise of another park is refused whole (exit 2) unless --move.
    """
    from parkhub.adapters.vendors.manual import format_report

    hub = _hub(config)
    try:
        result = hub.import_entry(file, park, stream=kind, period=period, allow_move=move)
    except ParkhubError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    finally:
        hub.close()
    problems = format_report(result, include_warnings=True)
    if as_json:
        sys.stdout.write(
            jsonutil.dumps_str(
                {
                    "raw_id": result.raw_id,
                    "duplicate": result.duplicate,
                    "status": result.status,
                    "new": result.new,
                    "changed": result.changed,
                    "unchanged": result.unchanged,
                    "deliveries": result.deliveries,
                    "problems": problems,
                }
            )
            + "\n"
        )
        raise typer.Exit(1 if result.errors else 0)
    if result.duplicate:
        console.print(f"{file}: 已导入过 (already imported, raw #{result.raw_id}): nothing changed")
    else:
        console.print(
            f"{file}: {result.new} new, {result.changed} changed, {result.unchanged} unchanged, "
            f"{len(result.errors)} row errors, {result.deliveries} deliveries queued"
        )
    if problems:
        t = Table(title="需要修改的行 Rows to fix (fix them in the file and import it again)")
        for col in (
            "级别 level",
            "工作表 sheet",
            "行 row",
            "列 column",
            "填写的值 value",
            "原因 reason",
        ):
            t.add_column(col)
        for p in problems:
            t.add_row(
                "错误 error" if p["level"] == "error" else "提示 warning",
                p["sheet"],
                str(p["row"] or ""),
                p["column"] or "",
                p["value"],
                f"{p['reason_zh']}\n{p['reason_en']}",
            )
        console.print(t)
    raise typer.Exit(1 if result.errors else 0)


user_app = typer.Typer(help="Console accounts (控制台账号).", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _read_password(from_stdin: bool) -> str:
    import getpass

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("密码 Password: ")
    if getpass.getpass("再输一次 Again: ") != password:
        err_console.print("[red]两次输入不一致 (the passwords differ)[/]")
        raise typer.Exit(2)
    return password


def _user_action(config: Path, action: Any) -> Any:
    """Run `action(hub, accounts)`; account and config errors exit 2 with the reason."""
    from parkhub.store import AccountError

    hub = _hub(config)
    try:
        return action(hub, hub.store.accounts)
    except (AccountError, ParkhubError) as exc:
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    finally:
        hub.close()


ParkOpt = Annotated[
    list[str] | None, typer.Option("--park", help="park id; repeat for several parks")
]
StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="user name for signing in")],
    role: Annotated[
        str, typer.Option(help="operator (its parks) or admin (all parks)")
    ] = "operator",
    park: ParkOpt = None,
    display_name: Annotated[str | None, typer.Option(help="name shown in the console")] = None,
    password_stdin: StdinOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Add a console account. The password is asked for (or read from stdin), never an argument."""
    password = _read_password(password_stdin)

    def add(hub: Any, accounts: Any) -> Any:
        for p in park or []:
            hub.config.park(p)  # unknown park: error
        return accounts.create_user(
            name, password, role=role, parks=park or [], display_name=display_name
        )

    user = _user_action(config, add)
    console.print(f"created {user.username} ({user.role}; parks: {', '.join(user.parks) or 'all'})")


@user_app.command("list")
def user_list(
    as_json: Annotated[bool, typer.Option("--json")] = False, config: ConfigOpt = DEFAULT_CONFIG
) -> None:
    """List console accounts with their role, parks and state."""
    users = _user_action(config, lambda hub, accounts: accounts.list_users())
    if as_json:
        rows = [
            {"username": u.username, "display_name": u.display_name, "role": u.role,
             "parks": list(u.parks), "active": u.active, "api_token": u.has_api_token}
            for u in users
        ]  # fmt: skip
        sys.stdout.write(jsonutil.dumps_str(rows) + "\n")
        return
    t = Table(title="控制台账号 Console accounts")
    for col in ("user", "name", "role", "parks", "active", "API token"):
        t.add_column(col)
    for u in users:
        t.add_row(u.username, u.display_name or "", u.role, ", ".join(u.parks) or "(all)",
                  "yes" if u.active else "no", "yes" if u.has_api_token else "")  # fmt: skip
    console.print(t)


@user_app.command("parks")
def user_parks(
    name: Annotated[str, typer.Argument()], park: ParkOpt = None, config: ConfigOpt = DEFAULT_CONFIG
) -> None:
    """Set the parks of an operator (replaces the old list)."""

    def set_parks(hub: Any, accounts: Any) -> Any:
        for p in park or []:
            hub.config.park(p)
        return accounts.set_parks(name, park or [])

    user = _user_action(config, set_parks)
    console.print(f"{user.username}: {', '.join(user.parks) or '(none)'}")


@user_app.command("password")
def user_password(
    name: Annotated[str, typer.Argument()],
    password_stdin: StdinOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Set a new password (signs out every session of the user)."""
    password = _read_password(password_stdin)
    _user_action(config, lambda hub, accounts: accounts.set_password(name, password))
    console.print(f"{name}: password changed")


@user_app.command("disable")
def user_disable(
    name: Annotated[str, typer.Argument()], config: ConfigOpt = DEFAULT_CONFIG
) -> None:
    """Disable an account (its sessions end at once)."""
    _user_action(config, lambda hub, accounts: accounts.set_active(name, False))
    console.print(f"{name}: disabled")


@user_app.command("enable")
def user_enable(name: Annotated[str, typer.Argument()], config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Enable a disabled account."""
    _user_action(config, lambda hub, accounts: accounts.set_active(name, True))
    console.print(f"{name}: enabled")


@user_app.command("token")
def user_token(name: Annotated[str, typer.Argument()], config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Make a new API token for NAME (replaces the old one); printed once, stored hashed."""
    token = _user_action(config, lambda hub, accounts: accounts.create_api_token(name))
    sys.stdout.write(token + "\n")


@hj212_app.command("decode")
def hj212_decode(
    file: Annotated[str, typer.Argument(help="a log or capture file, or - for stdin")] = "-",
    strict: Annotated[bool, typer.Option(help="refuse non-standard frames")] = False,
) -> None:
    """Print each HJ 212 frame found in FILE as one JSON object (fields, CP, crc_ok)."""
    from parkhub.protocols.hj212 import decode_lines

    data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    for obj in decode_lines(data, tolerant=not strict):
        sys.stdout.write(jsonutil.dumps_str(obj) + "\n")


@hj212_app.command("encode")
def hj212_encode(
    file: Annotated[str, typer.Argument(help="JSON object(s), one per line, or - for stdin")] = "-",
) -> None:
    """Build HJ 212 frames (CRC and length computed) from JSON such as `decode` prints."""
    from parkhub.protocols.hj212 import encode_from_json

    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip():
            sys.stdout.buffer.write(encode_from_json(jsonutil.loads(line)))


def main() -> None:
    try:
        app()
    except ParkhubError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
