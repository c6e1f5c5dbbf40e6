"""What an operator looks at: `status` (what reached whom), `calendar` (deadlines and what is
missing) and `platforms` (who takes which report). They only read: no secret is needed."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from parkhub.reports.calendar import CalendarState
from parkhub.reports.names import platform_title, report_title

from .root import (
    DEFAULT_CONFIG,
    ConfigOpt,
    config_of,
    console,
    hub_of,
    print_json,
    table,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
STATE_COLOURS = {
    CalendarState.DELIVERED: "green",
    CalendarState.DELIVERED_INCOMPLETE: "green",
    CalendarState.LATE: "red",
    CalendarState.FAILED: "red",
    CalendarState.AT_RISK: "yellow",
}
STATE_WORDS = {
    CalendarState.DELIVERED: "已报送 delivered",
    CalendarState.DELIVERED_INCOMPLETE: "已报送（缺企业数据） delivered, data missing",
    CalendarState.PENDING: "待报送 pending",
    CalendarState.NOT_BUILT: "尚无可报数据 nothing to send yet",
    CalendarState.AT_RISK: "临近截止 at risk",
    CalendarState.LATE: "已逾期 late",
    CalendarState.FAILED: "报送失败 failed",
}


def status(config: ConfigOpt = DEFAULT_CONFIG, as_json: JsonOpt = False) -> None:
    """What reached whom: per platform sent / pending / failed / dead, and inbox problems."""
    with hub_of(config, secrets=False) as hub:
        st = hub.status()
        titles = {name: platform_title(hub.config, name) for name in st["platforms"]}
    if as_json:
        print_json(st)
        return
    t = table("投递状态 Delivery status", ("平台 platform", "sent", "pending", "failed", "dead"))
    for name, c in st["platforms"].items():
        label = name if titles[name] == name else f"{titles[name]} ({name})"
        t.row({"平台 platform": label, "sent": str(c["sent"]), "pending": str(c["pending"]),
               "failed": str(c["failed"]), "dead": str(c["dead"])})  # fmt: skip
    console.print(t)
    problems = st["inbox_problems"]
    if problems:
        t = table(
            "收件箱问题 Inbox problems (raw kept; `parkhub reparse` after a fix, "
            "`parkhub inbox dismiss ID` to dismiss)",
            ("raw", "source", "stream", "status", "reason"),
            optional=("stream",),
        )
        for p in problems:
            t.row({"raw": str(p["raw_id"]), "source": p["source"], "stream": p["stream"],
                   "status": p["status"], "reason": p["reason"] or ""})  # fmt: skip
        console.print(t)
    if st["devices"]:
        console.print(devices_table(st["devices"]))
    show_quality(st["quality"])


def show_quality(q: dict[str, Any]) -> None:
    """The quality rules' findings: counts, the records held for review, the latest warnings."""
    c = q["counts"]
    console.print(
        f"数据质量 Data quality (last {q['days']} days): {c['hold']} held, {c['warn']} to check, "
        f"{c['info']} info; [bold]{c['waiting']} waiting for a reviewer[/]; "
        f"{q['conflicts']} records whose sources disagree"
    )
    if q["held"]:
        t = table("待审核 Held for review (console: 数据审核)", ("#", "park", "record", "why"),
                  optional=("park",))  # fmt: skip
        for h in q["held"]:
            t.row({"#": str(h["hold_id"]), "park": h["park"], "record": f"{h['kind']}#{h['key']}",
                   "why": "\n".join(h["findings"])})  # fmt: skip
        console.print(t)
    if q["findings"]:
        t = table("最近的质量问题 Latest findings", ("park", "level", "rule", "record", "finding"),
                  optional=("park", "rule"))  # fmt: skip
        for f in q["findings"]:
            t.row({"park": f["park"], "level": f["severity"], "rule": f["rule"],
                   "record": f["record"], "finding": f["message"]})  # fmt: skip
        console.print(t)


def devices_table(devices: list[dict[str, Any]]) -> Any:
    """Devices that connect (data loggers), newest first: warnings and refusals per device."""
    t = table(
        "数采仪 Devices (warned: read with warnings; refused: kept, unused)",
        ("source", "device", "last seen", "frames", "warned", "refused", "heartbeat"),
        optional=("source", "heartbeat"),
    )
    for d in devices:
        t.row({"source": d["source"], "device": d["device"], "last seen": d["last_seen"][:19],
               "frames": str(d["frames"]),
               "warned": f"{d['warned']}  {d['last_warning'] or ''}".strip(),
               "refused": f"{d['rejected']}  {d['last_error'] or ''}".strip(),
               "heartbeat": (d["last_heartbeat"] or "")[:19]})  # fmt: skip
    return t


def calendar(config: ConfigOpt = DEFAULT_CONFIG, as_json: JsonOpt = False) -> None:
    """Next deadlines per park and platform report, and which enterprises have no data yet.

    States: delivered (every record sent, every enterprise had data); delivered, data missing
    (every record sent, some enterprises had none); pending; nothing to send yet; at risk
    (deadline within 3 days); late; failed (a delivery stopped retrying)."""
    with hub_of(config, secrets=False) as hub:
        entries = [e.as_dict() for e in hub.calendar()]
        cfg = hub.config
    if as_json:
        print_json(entries)
        return
    t = table(
        "报送日历 Reporting calendar",
        ("park", "platform / report", "period", "deadline", "state", "sent", "with data",
         "missing"),
        optional=("park", "period"),
    )  # fmt: skip
    for e in entries:
        colour = STATE_COLOURS.get(e["state"], "white")
        names = "、".join(m["name"] for m in e["missing"][:3])
        more = f" +{len(e['missing']) - 3}" if len(e["missing"]) > 3 else ""
        t.row(
            {
                "park": e["park"],
                "platform / report": f"{platform_title(cfg, e['platform'])} · "
                f"{report_title(cfg, e['platform'], e['report'])}",
                "period": e["period"],
                "deadline": e["deadline"][:10],
                "state": f"[{colour}]{STATE_WORDS.get(e['state'], e['state'])}[/]",
                "sent": f"{e['delivered']}/{e['expected']}",
                "with data": f"{e['reporting']}/{e['enterprises']}",
                "missing": f"{len(e['missing'])} {names}{more}".strip(),
            },
            markup=("state",),
        )
    console.print(t)


def platforms(config: ConfigOpt = DEFAULT_CONFIG, as_json: JsonOpt = False) -> None:
    """The configured platforms with their reports, record kinds, cadences and deadlines."""
    from parkhub.config import subscriptions

    cfg = config_of(config, secrets=False)
    rows: list[dict[str, Any]] = []
    for s in subscriptions(cfg, enabled_only=False):
        pc, sub, spec = s.platform, s.subscription, s.spec
        rows.append(
            {
                "platform": pc.name,
                "title": platform_title(cfg, pc.name),
                "type": pc.type,
                "enabled": pc.enabled,
                "report": sub.report,
                "report_title": report_title(cfg, pc.name, sub.report),
                "records": spec.record_kind,
                "cadence": s.cadence,
                "deadline_day": sub.deadline_day if s.periodic else None,
                "priority": spec.priority,
                "description": spec.description,
            }
        )
    if as_json:
        print_json(rows)
        return
    t = table(
        "平台与报表 Platforms and reports",
        ("platform", "report", "records", "cadence", "deadline", "priority", "description"),
        optional=("records", "priority", "description"),
    )
    for r in rows:
        t.row(
            {
                "platform": f"{r['title']} ({r['platform']})"
                + ("" if r["enabled"] else " (disabled)"),
                "report": f"{r['report_title']} ({r['report']})",
                "records": r["records"],
                "cadence": r["cadence"],
                "deadline": f"by the {r['deadline_day']}th" if r["deadline_day"] else "-",
                "priority": str(r["priority"]),
                "description": r["description"],
            }
        )
    console.print(t)
