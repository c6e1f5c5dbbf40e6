"""The alert check: each park's problems (dead deliveries, deadlines at risk or late) sent to
its robots, each problem once (the alerts table remembers what was notified)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from parkhub.canonical.timeutil import SHANGHAI
from parkhub.config import AlertsConfig, HubConfig, ParkAlerts, ParkConfig
from parkhub.reports.calendar import CalendarState
from parkhub.reports.service import Reports
from parkhub.store import DeliveryStatus, PendingAlert, Problem, Store

from .robots import AlertError, redact, senders

log = logging.getLogger("parkhub.alerts")

MAX_LINES = 15
"""Problems listed in one message; the rest are counted (robots cap message size)."""
DEADLINE_STATES = {CalendarState.AT_RISK: "临近截止", CalendarState.LATE: "已逾期"}


def _short(text: str | None, limit: int = 120) -> str:
    one = " ".join((text or "").split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def dead_problems(store: Store, park_id: str, *, limit: int = 2000) -> list[Problem]:
    rows = store.outbox.deliveries(status=[DeliveryStatus.DEAD], park_id=park_id, limit=limit)
    return [
        Problem(
            f"dead:{r['id']}",
            "dead",
            f"投递失败已停止重试 #{r['id']} {r['platform']}/{r['report']} {r['record_key']} "
            f"(rev {r['revision']})：{_short(redact(r['last_error'] or ''))}",
        )
        for r in sorted(rows, key=lambda r: int(r["id"]))
    ]


def deadline_problems(
    reports: Reports, park_id: str, *, now: dt.datetime | None = None
) -> list[Problem]:
    out = []
    for e in reports.calendar(park_id=park_id, now=now):
        if e.state not in DEADLINE_STATES:
            continue
        local = e.deadline.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        missing = f"，缺 {len(e.missing)} 家企业数据" if e.missing else ""
        names = "、".join(m.get("name") or m.get("credit_code", "") for m in e.missing[:5])
        more = "等" if len(e.missing) > 5 else ""
        out.append(
            Problem(
                f"deadline:{e.platform}:{e.report}:{e.period}:{e.state}",
                "deadline",
                f"{DEADLINE_STATES[e.state]}：{e.platform}/{e.report} {e.period} 期，"
                f"截止 {local}（北京时间），已报送 {e.delivered}/{e.expected}{missing}"
                + (f"（{names}{more}）" if names else ""),
            )
        )
    return out


# -- the check --------------------------------------------------------------------------------


@dataclass
class AlertResult:
    park_id: str
    channel: str
    problems: list[str] = field(default_factory=list)
    sent: bool = False
    error: str | None = None


def compose(items: Sequence[PendingAlert], console_url: str | None) -> str:
    lines = [f"- {item.summary}" for item in items[:MAX_LINES]]
    if len(items) > MAX_LINES:
        lines.append(f"- ……另有 {len(items) - MAX_LINES} 项")
    dead = sum(1 for i in items if i.kind == "dead")
    head = []
    if dead:
        head.append(f"**{dead} 条投递失败，已停止自动重试**，请检查后在控制台重新投递。")
    if len(items) - dead:
        head.append(f"**{len(items) - dead} 项报送截止提醒**。")
    text = "\n".join([*head, "", *lines])
    if console_url:
        text += f"\n\n[打开控制台 Open the console]({console_url.rstrip('/')}/console/)"
    return text


class Alerts:
    """Runs every minute as an exclusive scheduler job (one machine at a time)."""

    def __init__(self, store: Store, config: HubConfig, reports: Reports) -> None:
        self.store = store
        self.config = config
        self.reports = reports

    def check(
        self,
        settings: AlertsConfig | None = None,
        *,
        now: dt.datetime | None = None,
        client: httpx.Client | None = None,
    ) -> list[AlertResult]:
        """Notify each park's robots of its new problems, once per problem; what was tried.
        `settings` defaults to the config's `alerts:`."""
        settings = settings or self.config.alerts
        if not settings.enabled or not settings.parks:
            return []
        http = client or httpx.Client(timeout=settings.timeout_seconds, follow_redirects=False)
        try:
            results: list[AlertResult] = []
            for park in self.config.parks:
                park_settings = settings.parks.get(park.id)
                if park_settings is not None and park_settings.channels():
                    results += self._park(park, park_settings, settings, http, now)
            return results
        finally:
            if client is None:
                http.close()

    def problems(
        self, park_id: str, settings: ParkAlerts, *, now: dt.datetime | None = None
    ) -> list[Problem]:
        problems: list[Problem] = []
        if settings.dead_deliveries:
            problems += dead_problems(self.store, park_id)
        if settings.deadlines:
            problems += deadline_problems(self.reports, park_id, now=now)
        return problems

    def _park(
        self,
        park: ParkConfig,
        park_settings: ParkAlerts,
        settings: AlertsConfig,
        http: httpx.Client,
        now: dt.datetime | None,
    ) -> list[AlertResult]:
        problems = self.problems(park.id, park_settings, now=now)
        current = {p.key for p in problems}
        alert_log = self.store.alerts
        results = []
        for sender in senders(park_settings, http):
            alert_log.add(park.id, sender.channel, problems)
            pending = alert_log.pending(park.id, sender.channel)
            alert_log.resolve([p.id for p in pending if p.problem not in current])
            due = [p for p in pending if p.problem in current]
            if not due:
                continue
            result = AlertResult(park.id, sender.channel, [p.problem for p in due])
            title = f"parkhub 告警：{park.name}（{len(due)} 项）"
            try:
                sender.send(title, compose(due, settings.console_url))
            except AlertError as exc:
                result.error = str(exc)
                give_up = max(p.attempts for p in due) + 1 >= settings.max_attempts
                alert_log.mark_failed([p.id for p in due], str(exc), give_up=give_up)
                log.warning(
                    "alert to %s robot of park %s failed%s: %s",
                    sender.channel, park.id, " (giving up)" if give_up else "", exc,
                )  # fmt: skip
            else:
                result.sent = True
                alert_log.mark_sent([p.id for p in due])
                log.info("alerted %s robot of park %s: %d", sender.channel, park.id, len(due))
            results.append(result)
        return results
