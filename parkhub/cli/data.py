"""The data's way through the hub, by hand: pull now (`sync`), send now (`dispatch`), build the
period reports, and see and repair what happened (status, calendar, platforms, deliveries,
replay, reparse)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from parkhub.canonical.timeutil import previous_period
from parkhub.reports.calendar import CalendarState

from .root import (
    DEFAULT_CONFIG,
    ConfigOpt,
    config_of,
    console,
    hub_of,
    print_json,
    setup_logging,
    table,
    when,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable")]
IdsOpt = Annotated[list[int] | None, typer.Option("--id")]


def sync(
    source: Annotated[
        str | None, typer.Argument(help="one source (default: all scheduled)")
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Pull from vendor sources now, from their saved cursors."""
    setup_logging()
    with hub_of(config) as hub:
        results = hub.sync(source)
    failed = False
    for r in results:
        console.print(
            f"{r.source}: {r.messages} messages, {r.new} new, {r.changed} changed, "
            f"{r.unchanged} unchanged, {r.deliveries} deliveries queued"
        )
        for e in r.errors:
            console.print(f"  [yellow]rejected[/] {e}")
        for w in r.warnings:
            console.print(f"  [dim]warning[/] {w}")
        if r.failure:
            failed = True
            console.print(f"  [red]failed:[/] {r.failure}")
    raise typer.Exit(1 if failed else 0)


def dispatch(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Send every due delivery now (until nothing is due)."""
    setup_logging()
    with hub_of(config) as hub:
        stats = hub.dispatch()
    console.print(
        f"claimed {stats.claimed}: {stats.sent} sent, {stats.failed} to retry, "
        f"{stats.dead} dead, {stats.superseded} superseded"
    )
    for e in stats.errors[:20]:
        console.print(f"  [yellow]{e}[/]")


def reports_build(
    period: Annotated[str | None, typer.Option(help="YYYY-MM (default: last month)")] = None,
    park: Annotated[str | None, typer.Option(help="one park id")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Build the monthly park report(s) and queue them for delivery."""
    with hub_of(config) as hub:
        out = hub.build_reports(period or previous_period(), park=park)
    for inputs, res in out:
        r = inputs.report
        change = "new" if res.new else "revised" if res.changed else "unchanged"
        console.print(
            f"{r.park_id} {r.period}: {change}; {r.enterprise_count} enterprises, "
            f"{r.reporting_enterprises} reporting, {res.deliveries} deliveries queued"
        )
        for m in inputs.missing:
            console.print(f"  [yellow]missing[/] {m['credit_code']} {m['name']}")


def status(config: ConfigOpt = DEFAULT_CONFIG, as_json: JsonOpt = False) -> None:
    """What reached whom: per platform sent / pending / failed / dead."""
    from parkhub.demo import status_table

    with hub_of(config) as hub:
        st = hub.status()
    if as_json:
        print_json(st)
        return
    console.print(status_table(st))
    if st["inbox_problems"]:
        t = table(
            "收件箱问题 Inbox problems (raw kept; `parkhub reparse` after a fix)",
            ("raw", "source", "stream", "status", "reason"),
        )
        for p in st["inbox_problems"]:
            t.add_row(str(p["raw_id"]), p["source"], p["stream"], p["status"], p["reason"] or "")
        console.print(t)
    _show_quality(st["quality"])


def _show_quality(q: dict[str, Any]) -> None:
    """The quality rules' findings: counts, the records held for review, the latest warnings."""
    c = q["counts"]
    console.print(
        f"数据质量 Data quality (last {q['days']} days): {c['hold']} held, {c['warn']} to check, "
        f"{c['info']} info; [bold]{c['waiting']} waiting for a reviewer[/]; "
        f"{q['conflicts']} records whose sources disagree"
    )
    if q["held"]:
        t = table("待审核 Held for review (console: 数据审核)", ("#", "park", "record", "why"))
        for h in q["held"]:
            t.add_row(
                str(h["hold_id"]), h["park"], f"{h['kind']}#{h['key']}", "\n".join(h["findings"])
            )
        console.print(t)
    if q["findings"]:
        t = table("最近的质量问题 Latest findings", ("park", "level", "rule", "record", "finding"))
        for f in q["findings"]:
            t.add_row(f["park"], f["severity"], f["rule"], f["record"], f["message"])
        console.print(t)


CALENDAR_COLUMNS = ("park", "platform", "report", "period", "deadline", "state", "sent", "missing")
STATE_COLOURS = {
    CalendarState.DELIVERED: "green",
    CalendarState.LATE: "red",
    CalendarState.FAILED: "red",
    CalendarState.AT_RISK: "yellow",
}


def calendar(
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Next deadlines per park and platform report, and which enterprises have no data yet."""
    with hub_of(config) as hub:
        entries = [e.as_dict() for e in hub.calendar()]
    if as_json:
        print_json(entries)
        return
    t = table("报送日历 Reporting calendar", CALENDAR_COLUMNS)
    for e in entries:
        colour = STATE_COLOURS.get(e["state"], "white")
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


PLATFORM_COLUMNS = (
    "platform",
    "type",
    "report",
    "records",
    "cadence",
    "deadline",
    "priority",
    "description",
)


def platforms(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """The configured platforms with their reports, record kinds, cadences and deadlines."""
    from parkhub.config import subscriptions

    cfg = config_of(config)
    t = table("平台与报表 Platforms and reports", PLATFORM_COLUMNS)
    for s in subscriptions(cfg, enabled_only=False):
        pc, sub, spec = s.platform, s.subscription, s.spec
        t.add_row(
            pc.name + ("" if pc.enabled else " (disabled)"),
            pc.type,
            sub.report,
            spec.record_kind,
            s.cadence,
            f"by the {sub.deadline_day}th" if s.periodic else "-",
            str(spec.priority),
            spec.description,
        )
    console.print(t)


DELIVERY_FIELDS = (
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
DELIVERY_COLUMNS = (
    "id",
    "platform",
    "report",
    "record",
    "rev",
    "status",
    "tries",
    "receipt / error",
)


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
    with hub_of(config) as hub:
        rows = hub.store.outbox.deliveries(status=status_, platform=platform, limit=limit)
    if as_json:
        print_json([_delivery_json(r) for r in rows])
        return
    t = table("投递 Deliveries", DELIVERY_COLUMNS)
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


def _delivery_json(row: Any) -> dict[str, Any]:
    return {k: row[k] for k in DELIVERY_FIELDS} | {"updated_at": row["updated_at"].isoformat()}


def replay(
    platform: Annotated[str | None, typer.Option()] = None,
    since: Annotated[str | None, typer.Option(help="ISO time, Beijing if no zone")] = None,
    until: Annotated[str | None, typer.Option()] = None,
    error: Annotated[str | None, typer.Option(help="last error contains this text")] = None,
    delivery_id: IdsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Queue dead deliveries again (same idempotency key: the platform drops true repeats)."""
    with hub_of(config) as hub:
        n = hub.replay(
            platform=platform,
            since=when(since),
            until=when(until),
            error_contains=error,
            ids=delivery_id,
        )
    console.print(f"{n} deliveries queued again; run `parkhub dispatch` or wait for `parkhub run`")


def reparse(
    source: Annotated[str | None, typer.Option()] = None,
    raw_id: IdsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Parse rejected or partly rejected raw messages again, after a fix."""
    with hub_of(config) as hub:
        results = hub.reparse(source=source, ids=raw_id)
    for r in results:
        console.print(f"raw {r.raw_id}: {r.status}; {r.new} new, {r.changed} changed")
        for e in r.errors:
            console.print(f"  [yellow]{e}[/]")
    console.print(f"{len(results)} raw messages parsed again")
