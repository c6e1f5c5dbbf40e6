"""Alerts where operators already are: the park's WeCom (企业微信) or DingTalk (钉钉) robot.

`Alerts.check` (parkhub.alerts.check) runs every minute (a scheduler job). It finds each
park's problems — deliveries that stopped retrying (dead) and reporting deadlines at risk or
late — and sends the ones not notified before in ONE markdown message per park and robot.
What was notified is kept in the `alerts` table (parkhub.store.alerts), so a problem is
notified once, however many checks and retries see it; a message the robot refuses is tried
again at the next check, up to `max_attempts` checks.

The two senders are small httpx clients rather than a notification library: apprise, the
well-kept one that has both robots, hard-codes the vendors' hosts (qyapi.weixin.qq.com,
oapi.dingtalk.com), so it can neither go through a configured gateway URL nor be tested against
the loopback robot (parkhub.sandbox.robot_sim). Webhook URLs carry their key in the query: they
are secrets (env:NAME / file:NAME), never logged (httpx's request log is redacted here) and never
stored; the alerts table holds only the problem lines.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import time
import urllib.parse
from typing import Any, Protocol

import httpx

from parkhub.canonical import jsonutil
from parkhub.config import ParkAlerts

log = logging.getLogger("parkhub.alerts")

WECOM_MAX_BYTES = 4096
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
