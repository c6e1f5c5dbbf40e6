"""Loopback simulator of the 经信 platform: issues bearer tokens that expire, checks the payload
schemas, dedups on the idempotency key, and fails on request (503, timeout, busy, business)."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parkhub.protocols import econ as proto

from .platform_sim import PlatformSim, json_response

REPORTS = {path: report for report, path in proto.PATHS.items()}


def _code(code: str, message: str, data: object = None) -> Response:
    return json_response({"code": code, "message": message, "data": data})


class EconSim(PlatformSim):
    """Fault modes: "503", "timeout" (sleeps `delay`, then 504), "busy" (50001), "business"
    (42202 enterprise not in the roster), "401" (HTTP 401 once the token is checked)."""

    def __init__(
        self,
        *,
        client_id: str = "demo-client",
        client_secret: str = "demo-secret",
        token_ttl: int = proto.DEFAULT_TOKEN_TTL,
        expired_reply: str = "http",
    ) -> None:
        super().__init__({report: f"econ/{report}.schema.json" for report in proto.PATHS})
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.expired_reply = expired_reply  # "http": HTTP 401; "code": 40101 inside HTTP 200
        self.tokens: dict[str, float] = {}  # token -> expiry (time.time())
        self.tokens_issued = 0
        self.app = Starlette(
            routes=[
                Route(proto.TOKEN_PATH, self.issue_token, methods=["POST"]),
                *(Route(path, self.receive, methods=["POST"]) for path in REPORTS),
                Route("/_sandbox/state", self.state_http),
            ]
        )

    def expire_tokens(self) -> None:
        """Revoke every issued token: the next report request is refused as unauthorized."""
        with self.lock:
            self.tokens.clear()

    async def issue_token(self, request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _code("42201", "请求体不是合法 JSON")
        if (
            not isinstance(body, dict)
            or body.get("clientId") != self.client_id
            or not secrets.compare_digest(str(body.get("clientSecret", "")), self.client_secret)
        ):
            return _code(proto.BAD_CLIENT, "clientId 或 clientSecret 错误")
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = time.time() + self.token_ttl
            self.tokens_issued += 1
        data = {"accessToken": token, "tokenType": "Bearer", "expiresIn": self.token_ttl}
        return _code(proto.SUCCESS, "success", data)

    def _token_ok(self, request: Request) -> bool:
        token = proto.token_from_header(request.headers.get("Authorization"))
        with self.lock:
            expiry = self.tokens.get(token or "")
        return expiry is not None and expiry > time.time()

    async def receive(self, request: Request) -> Response:
        self.requests += 1
        if self.in_outage():
            return json_response({"message": "Service Unavailable (维护中)"}, 503)
        fault = self.next_fault()
        if fault is not None:
            if fault.mode == "503":
                return json_response({"message": "Service Unavailable"}, 503)
            if fault.mode == "timeout":
                await asyncio.sleep(fault.delay or 30)
                return json_response({"message": "late"}, 504)
            if fault.mode == "busy":
                return _code("50001", "系统繁忙")
            if fault.mode == "business":
                return _code("42202", "企业不在园区名录中")
            if fault.mode == "401":
                return json_response({"code": proto.TOKEN_INVALID, "message": "未授权"}, 401)
        if not self._token_ok(request):
            if self.expired_reply == "code":
                return _code(proto.TOKEN_INVALID, "令牌无效或已过期")
            return json_response({"code": proto.TOKEN_INVALID, "message": "令牌无效或已过期"}, 401)
        key = request.headers.get(proto.IDEMPOTENCY_HEADER, "")
        if not key:
            return _code("42201", f"缺少 {proto.IDEMPOTENCY_HEADER}")
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _code("42201", "请求体不是合法 JSON")
        report = REPORTS[request.url.path]
        error = self.schema_error(report, payload)
        if error is not None:
            self.reject({"code": "42201", "message": error})
            return _code("42201", f"数据校验失败: {error}")
        first, duplicate = self.accept(
            key, report, payload, lambda: f"JX{uuid.uuid4().hex[:16].upper()}"
        )
        return _code(proto.SUCCESS, "success", {"receiptId": first.receipt, "duplicate": duplicate})

    async def state_http(self, request: Request) -> Response:
        return json_response({**self.state(), "tokensIssued": self.tokens_issued})
