"""Deliveries by hand: list them (`deliveries`), queue dead ones again (`replay`, asking first
when no filter narrows it, with `--dry-run`), and the inbox's problems (`inbox list`,
`inbox dismiss`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from parkhub.store import DeliveryFilter, DeliveryStatus, RawStatus

from .root import (
    DEFAULT_CONFIG,
    ConfigOpt,
    console,
    fail,
    hub_of,
    print_json,
    table,
    when,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
IdsOpt = Annotated[list[int] | None, typer.Option("--id", help="only this delivery id (repeat)")]
STATUSES = ", ".join(s.value for s in DeliveryStatus)
DELIVERY_FIELDS = (
    "id", "platform", "report", "record_kind", "record_key", "revision", "status", "attempts",
    "last_error", "receipt_id", "idempotency_key",
)  # fmt: skip


def deliveries(
    status_: Annotated[
        list[str] | None,
        typer.Option("--status", help=f"only these statuses (repeat): {STATUSES}"),
    ] = None,
    platform: Annotated[str | None, typer.Option(help="only this platform")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="at most this many")] = 50,
    as_json: JsonOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """List deliveries, newest first, with their attempts, last error and receipt."""
    for s in status_ or []:
        if s not in DeliveryStatus._value2member_map_:
            fail(f"unknown status {s!r}: use one of {STATUSES}", prefix="[red]error:[/] ")
    with hub_of(config, secrets=False, platform=platform) as hub:
        rows = hub.store.outbox.deliveries(status=status_, platform=platform, limit=limit)
    if as_json:
        print_json([_delivery_json(r) for r in rows])
        return
    t = table(
        "投递 Deliveries",
        ("id", "platform", "report", "record", "rev", "status", "tries", "receipt / error"),
        optional=("report", "rev", "tries"),
    )
    for r in rows:
        t.row(
            {
                "id": str(r["id"]),
                "platform": r["platform"],
                "report": r["report"],
                "record": r["record_key"],
                "rev": str(r["revision"]),
                "status": r["status"],
                "tries": str(r["attempts"]),
                "receipt / error": r["receipt_id"] or (r["last_error"] or "")[:160],
            }
        )
    console.print(t)


def _delivery_json(row: Any) -> dict[str, Any]:
    return {k: row[k] for k in DELIVERY_FIELDS} | {"updated_at": row["updated_at"].isoformat()}


def replay(
    platform: Annotated[str | None, typer.Option(help="only this platform")] = None,
    since: Annotated[
        str | None, typer.Option(help="last tried at or after (ISO time, Beijing if no zone)")
    ] = None,
    until: Annotated[str | None, typer.Option(help="last tried before (ISO time)")] = None,
    error: Annotated[str | None, typer.Option(help="last error contains this text")] = None,
    delivery_id: IdsOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="say how many would be replayed; change nothing")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="replay every dead delivery without asking")
    ] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Queue dead deliveries again (same idempotency key: the platform drops true repeats).
    Without a filter it asks first, naming how many."""
    where = DeliveryFilter(
        status=[DeliveryStatus.DEAD],
        platform=platform,
        since=when(since),
        until=when(until),
        error_contains=error,
        ids=delivery_id,
    )
    unfiltered = not any((platform, since, until, error, delivery_id))
    with hub_of(config, secrets=False, platform=platform) as hub:
        count = hub.store.outbox.count(where)
        if dry_run:
            _said(as_json, count, f"{count} dead deliveries would be queued again (dry run)")
            return
        ask = f"Replay all {count} dead deliveries? 重新投递全部 {count} 条？"
        if count and unfiltered and not yes and not typer.confirm(ask):
            raise typer.Exit(1)
        n = hub.replay(where=where) if count else 0
    _said(
        as_json,
        n,
        f"{n} deliveries queued again; run `parkhub dispatch` or wait for `parkhub run`"
        if n
        else "nothing to replay: no dead delivery matches",
    )


def _said(as_json: bool, count: int, text: str) -> None:
    if as_json:
        print_json({"count": count})
    else:
        console.print(text)


def inbox_list(
    source: Annotated[str | None, typer.Option(help="only this source")] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Raw messages with problems (rejected or partly rejected), not fixed or dismissed yet."""
    with hub_of(config, secrets=False, source=source) as hub:
        rows = hub.store.inbox.messages(source=source, newest_first=True, with_body=False)
    items = [
        {"raw_id": r["id"], "source": r["source"], "stream": r["stream"], "status": r["status"],
         "received_at": r["received_at"].isoformat(), "reason": r["reason"]}
        for r in rows
    ]  # fmt: skip
    if as_json:
        print_json(items)
        return
    t = table("收件箱问题 Inbox problems", ("raw", "source", "status", "reason"))
    for i in items:
        t.row({"raw": str(i["raw_id"]), "source": i["source"], "status": i["status"],
               "reason": i["reason"] or ""})  # fmt: skip
    console.print(t)


def inbox_dismiss(
    raw_ids: Annotated[list[int], typer.Argument(help="raw message ids (see `parkhub status`)")],
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Dismiss inbox problems you have dealt with: they leave `status`; the messages stay (a
    reparse by --id still takes them). Audited."""
    with hub_of(config, secrets=False) as hub:
        done = hub.store.inbox.close_problems(raw_ids, RawStatus.DISMISSED, actor="cli")
    missing = sorted(set(raw_ids) - set(done))
    console.print(f"{len(done)} problems dismissed")
    if missing:
        console.print(f"[yellow]not open problems (unknown, fixed or dismissed): {missing}[/]")
        raise typer.Exit(1)
