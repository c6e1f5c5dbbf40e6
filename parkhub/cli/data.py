"""The data's way through the hub, by hand: pull now (`sync`), send now (`dispatch`, `retry`),
build the period reports, and parse rejected messages again (`reparse`). Each says what it did,
as a line or as JSON, and ends non-zero when something failed."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from parkhub.canonical.timeutil import previous_period
from parkhub.scheduler.dispatcher import DispatchStats

from .root import (
    DEFAULT_CONFIG,
    ConfigOpt,
    console,
    hub_of,
    period_of,
    print_json,
    progress,
    setup_logging,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of text")]
IdsOpt = Annotated[
    list[int] | None, typer.Option("--id", help="only this raw message or delivery id (repeat)")
]
PlatformOpt = Annotated[str | None, typer.Option(help="only this platform (its name in config)")]


def sync(
    source: Annotated[
        str | None, typer.Argument(help="one source (default: all scheduled)")
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: JsonOpt = False,
) -> None:
    """Pull from vendor sources now, from their saved cursors (exit 1 if a source failed)."""
    setup_logging(printed=True)
    results = []
    with hub_of(config, source=source) as hub:
        names = [source] if source else [
            s.name for s in hub.config.sources if s.enabled and s.schedule is not None
        ]  # fmt: skip
        with progress("同步 sync", total=len(names)) as bar:
            for name in names:
                bar.describe(f"同步 sync {name}")
                results += hub.sync(name)
                bar.advance()
    failed = any(r.failure for r in results)
    if as_json:
        print_json([_sync_json(r) for r in results])
        raise typer.Exit(1 if failed else 0)
    if not results:
        console.print("没有启用定时拉取的数据源 (no enabled source with a schedule)")
    for r in results:
        console.print(
            f"{r.source}: {r.messages} messages, {r.new} new, {r.changed} changed, "
            f"{r.unchanged} unchanged, {r.deliveries} deliveries queued"
        )
        for e in r.errors:
            console.print(f"  [yellow]rejected[/] {escape(str(e))}", highlight=False)
        for w in r.warnings:
            console.print(f"  [dim]warning[/] {escape(str(w))}", highlight=False)
        if r.failure:
            console.print(f"  [red]failed:[/] {escape(r.failure)}", highlight=False)
    raise typer.Exit(1 if failed else 0)


def _sync_json(r: Any) -> dict[str, Any]:
    return {
        "source": r.source,
        "messages": r.messages,
        "new": r.new,
        "changed": r.changed,
        "unchanged": r.unchanged,
        "deliveries": r.deliveries,
        "rejected": [e.as_dict() for e in r.errors],
        "warnings": [w.as_dict() for w in r.warnings],
        "failure": r.failure,
    }


def dispatch(
    config: ConfigOpt = DEFAULT_CONFIG,
    platform: PlatformOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send every due delivery now, until nothing is due (exit 1 if any failed or died)."""
    setup_logging(printed=True)
    with hub_of(config, platform=platform) as hub:
        stats = _dispatch(hub, [platform] if platform else None)
    _report_dispatch(stats, as_json)


def _dispatch(hub: Any, platforms: list[str] | None) -> DispatchStats:
    due = hub.store.outbox.count(status=["pending", "failed"], platform=platforms and platforms[0])
    total = DispatchStats()
    with progress("发送 dispatch", total=due or None) as bar:
        for _ in range(1000):
            stats = hub.dispatch(until_idle=False, platforms=platforms)
            total.add(stats)
            bar.advance(stats.claimed)
            if stats.claimed == 0:
                break
    return total


def _report_dispatch(stats: DispatchStats, as_json: bool) -> None:
    failed = stats.failed + stats.dead > 0
    if as_json:
        print_json(
            {
                "claimed": stats.claimed,
                "sent": stats.sent,
                "failed": stats.failed,
                "dead": stats.dead,
                "superseded": stats.superseded,
                "errors": stats.errors,
            }
        )
        raise typer.Exit(1 if failed else 0)
    console.print(
        f"claimed {stats.claimed}: {stats.sent} sent, {stats.failed} to retry, "
        f"{stats.dead} dead, {stats.superseded} superseded"
    )
    for e in stats.errors[:20]:
        console.print(f"  [yellow]{escape(e)}[/]", highlight=False)
    if len(stats.errors) > 20:
        console.print(f"  … {len(stats.errors) - 20} more: `parkhub deliveries --status failed`")
    if failed:
        console.print(
            "[dim]failed ones retry by themselves; `parkhub retry` sends them now, "
            "`parkhub replay` queues dead ones again[/]"
        )
    raise typer.Exit(1 if failed else 0)


def retry(
    platform: PlatformOpt = None,
    delivery_id: IdsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: JsonOpt = False,
) -> None:
    """Retry failed deliveries now instead of at their next attempt, and dispatch (exit 1 if
    any failed again). Dead ones need `parkhub replay`."""
    setup_logging(printed=True)
    with hub_of(config, platform=platform) as hub:
        n = hub.store.outbox.retry_now(actor="cli", platform=platform, ids=delivery_id)
        if not as_json:
            console.print(f"{n} failed deliveries due now")
        stats = _dispatch(hub, [platform] if platform else None)
    _report_dispatch(stats, as_json)


def reports_build(
    period: Annotated[str | None, typer.Option(help="YYYY-MM (default: last month)")] = None,
    park: Annotated[str | None, typer.Option(help="one park id")] = None,
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="queue a park's report even when it has no enterprises"),
    ] = False,
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: JsonOpt = False,
) -> None:
    """Build the monthly park report(s) and queue them for delivery. A park with no
    enterprises is held, not queued (exit 1), unless --allow-empty."""
    chosen = period_of(period) or previous_period()
    with hub_of(config) as hub:
        if park is not None:
            hub.config.park(park)
        out = hub.build_reports(chosen, park=park, allow_empty=allow_empty)
    rows: list[dict[str, Any]] = []
    for inputs, res in out:
        r = inputs.report
        change = "held" if res is None else "new" if res.new else "revised" if res.changed else (
            "unchanged"
        )  # fmt: skip
        rows.append(
            {"park": r.park_id, "period": r.period, "result": change, "held": inputs.held,
             "enterprises": r.enterprise_count, "reporting": r.reporting_enterprises,
             "deliveries": res.deliveries if res else 0, "missing": inputs.missing}
        )  # fmt: skip
    held = any(row["held"] for row in rows)
    if as_json:
        print_json(rows)
        raise typer.Exit(1 if held else 0)
    for row in rows:
        if row["held"]:
            console.print(f"[yellow]{row['park']} {row['period']}: {row['held']}[/]")
            continue
        console.print(
            f"{row['park']} {row['period']}: {row['result']}; {row['enterprises']} enterprises, "
            f"{row['reporting']} reporting, {row['deliveries']} deliveries queued"
        )
        for m in row["missing"]:
            console.print(f"  [yellow]missing[/] {m['credit_code']} {m['name']}")
    raise typer.Exit(1 if held else 0)


def reparse(
    source: Annotated[str | None, typer.Option(help="only this source's messages")] = None,
    raw_id: IdsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: JsonOpt = False,
) -> None:
    """Parse rejected or partly rejected raw messages again, after a fix."""
    setup_logging(printed=True)
    with hub_of(config, source=source) as hub:
        ids = raw_id or [m["id"] for m in hub.store.inbox.messages(source=source, with_body=False)]
        results = []
        with progress("重新解析 reparse", total=len(ids)) as bar:
            for one in ids:
                results += hub.reparse(source=source, ids=[one])
                bar.advance()
    if as_json:
        print_json(
            [
                {"raw_id": r.raw_id, "status": r.status, "new": r.new, "changed": r.changed,
                 "errors": [e.as_dict() for e in r.errors]}
                for r in results
            ]
        )  # fmt: skip
        return
    for r in results:
        console.print(f"raw {r.raw_id}: {r.status}; {r.new} new, {r.changed} changed")
        for e in r.errors:
            console.print(f"  [yellow]{escape(str(e))}[/]", highlight=False)
    console.print(f"{len(results)} raw messages parsed again")
