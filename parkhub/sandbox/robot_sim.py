"""Loopback simulator of the group robots alerts go to: WeCom (企业微信) and DingTalk (钉钉).

WeCom: POST /cgi-bin/webhook/send?key=KEY with {"msgtype": "markdown", "markdown": {"content"}}.
DingTalk: POST /robot/send?access_token=TOKEN[&timestamp=MS&sign=SIGN] with
{"msgtype": "markdown", "markdown": {"title", "text"}}; with a secret set, the signature
(base64 HMAC-SHA256 of "{timestamp}\\n{secret}", keyed by the secret) is checked and the timestamp
must be within an hour, as the real robot does. Both answer {"errcode": 0, "errmsg": "ok"}, or
the vendors' error codes. Tests read `messages` or GET /_sandbox/state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

WECOM_PATH = "/cgi-bin/webhook/send"
DINGTALK_PATH = "/robot/send"


def _answer(code: int, message: str, status: int = 200) -> Response:
    body = orjson.dumps({"errcode": code, "errmsg": message})
    return Response(body, status_code=status, media_type="application/json")


@dataclass
class RobotMessage:
    channel: str
    body: dict[str, Any]
    at: float = field(default_factory=time.time)

    @property
    def text(self) -> str:
        md = self.body.get("markdown") or {}
        return str(md.get("content") or md.get("text") or "")


class RobotSim:
    """One WeCom robot (key) and one DingTalk robot (access token, optional signing secret)."""

    def __init__(
        self,
        *,
        wecom_key: str = "wecom-demo-key",
        dingtalk_token: str = "dingtalk-demo-token",
        dingtalk_secret: str | None = "SECdemo-dingtalk-secret",
    ) -> None:
        self.wecom_key = wecom_key
        self.dingtalk_token = dingtalk_token
        self.dingtalk_secret = dingtalk_secret
        self.lock = threading.Lock()
        self.messages: list[RobotMessage] = []
        self.refused: list[tuple[str, str]] = []
        self._failures = 0
        self.app = Starlette(
            routes=[
                Route(WECOM_PATH, self.wecom, methods=["POST"]),
                Route(DINGTALK_PATH, self.dingtalk, methods=["POST"]),
                Route("/_sandbox/state", self.state),
            ]
        )

    def fail(self, times: int = 1) -> None:
        """Answer the next `times` messages with HTTP 500."""
        with self.lock:
            self._failures += times

    def by_channel(self, channel: str) -> list[RobotMessage]:
        with self.lock:
            return [m for m in self.messages if m.channel == channel]

    def _refuse(self, channel: str, code: int, message: str) -> Response:
        with self.lock:
            self.refused.append((channel, message))
        return _answer(code, message)

    def _failing(self) -> bool:
        with self.lock:
            if self._failures > 0:
                self._failures -= 1
                return True
        return False

    async def _body(self, request: Request) -> dict[str, Any] | None:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None
        return body if isinstance(body, dict) else None

    async def wecom(self, request: Request) -> Response:
        if self._failing():
            return _answer(-1, "system busy", 500)
        if request.query_params.get("key") != self.wecom_key:
            return self._refuse("wecom", 93000, "invalid webhook url")
        body = await self._body(request)
        if body is None:
            return self._refuse("wecom", 40016, "invalid json")
        content = (body.get("markdown") or {}).get("content")
        if body.get("msgtype") != "markdown" or not isinstance(content, str) or not content:
            return self._refuse("wecom", 40008, "invalid message type")
        if len(content.encode()) > 4096:
            return self._refuse("wecom", 40058, "content exceed max length")
        with self.lock:
            self.messages.append(RobotMessage("wecom", body))
        return _answer(0, "ok")

    def signature_ok(self, timestamp: str | None, sign: str | None) -> bool:
        if self.dingtalk_secret is None:
            return True
        if not timestamp or not sign or not timestamp.isdigit():
            return False
        if abs(time.time() * 1000 - int(timestamp)) > 3600 * 1000:
            return False
        secret = self.dingtalk_secret.encode()
        mac = hmac.new(secret, f"{timestamp}\n{self.dingtalk_secret}".encode(), hashlib.sha256)
        expected = base64.b64encode(mac.digest()).decode()
        return hmac.compare_digest(expected, sign)  # query_params already URL-decoded it

    async def dingtalk(self, request: Request) -> Response:
        if self._failing():
            return _answer(-1, "system busy", 500)
        q = request.query_params
        if q.get("access_token") != self.dingtalk_token:
            return self._refuse("dingtalk", 300001, "token is not exist")
        if not self.signature_ok(q.get("timestamp"), q.get("sign")):
            return self._refuse("dingtalk", 310000, "sign not match")
        body = await self._body(request)
        if body is None:
            return self._refuse("dingtalk", 43004, "invalid json")
        md = body.get("markdown") or {}
        if body.get("msgtype") != "markdown" or not md.get("title") or not md.get("text"):
            return self._refuse("dingtalk", 40035, "missing markdown title or text")
        with self.lock:
            self.messages.append(RobotMessage("dingtalk", body))
        return _answer(0, "ok")

    async def state(self, request: Request) -> Response:
        with self.lock:
            data = {
                "messages": [{"channel": m.channel, "body": m.body} for m in self.messages],
                "refused": [list(r) for r in self.refused],
            }
        return Response(orjson.dumps(data), media_type="application/json")
