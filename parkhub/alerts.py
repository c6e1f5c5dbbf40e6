"""Alerts where operators already are: the park's WeCom (企业微信) or DingTalk (钉钉) robot.

`check_alerts(hub)` runs every minute (a scheduler job). It finds each park's problems — deliveries
that stopped retrying (dead) and reporting deadlines at risk or late — and sends the ones not
notified before in ONE markdown message per park and robot. What was notified is kept in the
`alerts` table (parkhub.store.alerts), so a problem is notified once, however many checks and
retries see it; a message the robot refuses is tried again at the next check, up to
`max_attempts` checks.

The two senders are small httpx clients rather than a notification library: apprise, the
well-kept one that has both robots, hard-codes the vendors' hosts (qyapi.weixin.qq.com,
oapi.dingtalk.com), so it can neither go through a configured gateway URL nor be tested against
the loopback robot (parkhub.sandbox.robot_sim). Webhook URLs carry their key in the query: they
are secrets (env:NAME / file:NAME), never logged (httpx's request log is redacted here) and never
stored; the alerts table holds only the problem lines.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import re
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from sqlalchemy import select

from parkhub.canonical import jsonutil
from parkhub.canonical.timeutil import SHANGHAI
from parkhub.store import schema as t
from parkhub.store.alerts import AlertLog, AlertsConfig, ParkAlerts, PendingAlert, Problem

if TYPE_CHECKING:
    from parkhub.hub import Hub

log = logging.getLogger("parkhub.alerts")

MAX_LINES = 15
"""Problems listed in one message; the rest are counted (robots cap message size)."""
WECOM_MAX_BYTES = 4096
DEADLINE_STATES = {"at_risk": "临近截止", "late": "已逾期"}
_SECRET_QUERY = re.compile(r"(?i)\b(key|access_token|sign|token)=[^&\s\"']+")


class AlertError(Exception):
    """The robot did not take the message (reason without the webhook URL)."""


def redact(text: str) -> str:
    """Hide webhook keys, tokens and signatures in a URL or message."""
    return _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", text)


class _RedactQuery(logging.Filter):
    """httpx logs each request's full URL at INFO: hide robot keys in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(redact(str(a)) if _SECRET_QUERY.search(str(a)) else a for a in args)
        return True


logging.getLogger("httpx").addFilter(_RedactQuery())


# -- senders ----------------------------------------------------------------------------------


class Sender(Protocol):
    channel: str

    def send(self, title: str, text: str) -> None: ...


def _check_answer(response: httpx.Response, what: str) -> None:
    if response.status_code != 200:
        raise AlertError(f"{what}: HTTP {response.status_code}")
    try:
        answer = jsonutil.loads(response.content)
    except jsonutil.JSONDecodeError:
        raise AlertError(f"{what}: answer is not JSON") from None
    if not isinstance(answer, dict) or answer.get("errcode") != 0:
        code = answer.get("errcode") if isinstance(answer, dict) else None
        msg = answer.get("errmsg") if isinstance(answer, dict) else None
        raise AlertError(f"{what}: errcode {code} {redact(str(msg or ''))[:200]}")


def _post(client: httpx.Client, url: str, body: dict[str, Any], what: str) -> httpx.Response:
    try:
        return client.post(
            url, content=jsonutil.dumps(body), headers={"content-type": "application/json"}
        )
    except httpx.HTTPError as exc:  # the message of some errors names the URL: leave it out
        raise AlertError(f"{what}: {type(exc).__name__}") from None


class WeComRobot:
    """企业微信群机器人: POST {"msgtype": "markdown", "markdown": {"content": ...}}."""

    channel = "wecom"

    def __init__(self, webhook: str, client: httpx.Client) -> None:
        self._url = webhook
        self._client = client

    def send(self, title: str, text: str) -> None:
        content = f"## {title}\n{text}"
        data = content.encode()
        if len(data) > WECOM_MAX_BYTES:
            content = data[: WECOM_MAX_BYTES - 8].decode(errors="ignore") + "\n…"
        body = {"msgtype": "markdown", "markdown": {"content": content}}
        _check_answer(_post(self._client, self._url, body, "wecom"), "wecom")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk 加签: base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}")), URL-encoded."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return urllib.parse.quote_plus(base64.b64encode(mac.digest()).decode())


class DingTalkRobot:
    """钉钉自定义机器人, signed when a secret is set: ...&timestamp=<ms>&sign=<sign>."""

    channel = "dingtalk"

    def __init__(self, webhook: str, secret: str | None, client: httpx.Client) -> None:
        self._url = webhook
        self._secret = secret
        self._client = client

    def send(self, title: str, text: str) -> None:
        url = self._url
        if self._secret:
            ts = int(time.time() * 1000)
            sep = "&" if "?" in url else "?"
            url = f"{url}{sep}timestamp={ts}&sign={dingtalk_sign(self._secret, ts)}"
        body = {"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n{text}"}}
        _check_answer(_post(self._client, url, body, "dingtalk"), "dingtalk")


def senders(settings: ParkAlerts, client: httpx.Client) -> list[Sender]:
    out: list[Sender] = []
    if settings.wecom_webhook is not None:
        out.append(WeComRobot(settings.wecom_webhook.get_secret_value(), client))
    if settings.dingtalk_webhook is not None:
        secret = settings.dingtalk_secret.get_secret_value() if settings.dingtalk_secret else None
        out.append(DingTalkRobot(settings.dingtalk_webhook.get_secret_value(), secret, client))
    return out


# -- problems ---------------------------------------------------------------------------------


def _short(text: str | None, limit: int = 120) -> str:
    one = " ".join((text or "").split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def dead_problems(hub: Hub, park_id: str, *, limit: int = 2000) -> list[Problem]:
    d = t.deliveries.c
    with hub.store.engine.connect() as conn:
        rows = conn.execute(
            select(d.id, d.platform, d.report, d.record_key, d.revision, d.last_error)
            .where(d.park_id == park_id, d.status == "dead")
            .order_by(d.id)
            .limit(limit)
        ).all()
    return [
        Problem(
            f"dead:{r.id}",
            "dead",
            f"投递失败已停止重试 #{r.id} {r.platform}/{r.report} {r.record_key} "
            f"(rev {r.revision})：{_short(redact(r.last_error or ''))}",
        )
        for r in rows
    ]


def deadline_problems(hub: Hub, park_id: str, *, now: dt.datetime | None = None) -> list[Problem]:
    out = []
    for e in hub.calendar(park_id=park_id, now=now):
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


def check_alerts(
    hub: Hub,
    settings: AlertsConfig | None = None,
    *,
    now: dt.datetime | None = None,
    client: httpx.Client | None = None,
) -> list[AlertResult]:
    """Notify each park's robots of its new problems, once per problem. Returns what was tried.

    `settings` defaults to `hub.config.alerts`. Safe to run on many machines when the scheduler
    runs it as an exclusive job (one at a time).
    """
    if settings is None:
        settings = getattr(hub.config, "alerts", None)
    if settings is None or not settings.enabled or not settings.parks:
        return []
    owned = client is None
    http = client or httpx.Client(timeout=settings.timeout_seconds, follow_redirects=False)
    alert_log = AlertLog(hub.store)
    results: list[AlertResult] = []
    try:
        for park in hub.config.parks:
            park_settings = settings.parks.get(park.id)
            if park_settings is None or not park_settings.channels():
                continue
            problems: list[Problem] = []
            if park_settings.dead_deliveries:
                problems += dead_problems(hub, park.id)
            if park_settings.deadlines:
                problems += deadline_problems(hub, park.id, now=now)
            current = {p.key for p in problems}
            for sender in senders(park_settings, http):
                alert_log.add(park.id, sender.channel, problems)
                pending = alert_log.pending(park.id, sender.channel)
                gone = [p.id for p in pending if p.problem not in current]
                alert_log.resolve(gone)
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
                        sender.channel,
                        park.id,
                        " (giving up)" if give_up else "",
                        exc,
                    )
                else:
                    result.sent = True
                    alert_log.mark_sent([p.id for p in due])
                    log.info(
                        "alerted %s robot of park %s: %d problems",
                        sender.channel,
                        park.id,
                        len(due),
                    )
                results.append(result)
    finally:
        if owned:
            http.close()
    return results


__all__ = [
    "AlertError",
    "AlertResult",
    "AlertsConfig",
    "DingTalkRobot",
    "ParkAlerts",
    "WeComRobot",
    "check_alerts",
    "compose",
    "dingtalk_sign",
    "redact",
]
