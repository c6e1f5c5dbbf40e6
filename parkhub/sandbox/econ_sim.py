"""Loopback simulator of the 经信 platform: issues bearer tokens that expire, checks the payload
schemas, dedups on the idempotency key, and fails on request (503, timeout, busy, business)."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any, ClassVar

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parkhub.protocols import econ as proto

from .platform_sim import Fault, PlatformSim, json_response


class EconSim(PlatformSim):
    """Fault modes: "503", "timeout" (sleeps `delay`, then 504), "busy" (50001), "business"
    (42202 enterprise not in the roster), "401" (HTTP 401 once the token is checked)."""

    busy: ClassVar[tuple[Any, str]] = ("50001", "系统繁忙")
    business: ClassVar[tuple[Any, str]] = ("42202", "企业不在园区名录中")
    bad_payload: ClassVar[Any] = "42201"
    key_header: ClassVar[str] = proto.IDEMPOTENCY_HEADER
    receipt_at: ClassVar[str] = "data.receiptId"

    def __init__(
        self,
        *,
        client_id: str = "demo-client",
        client_secret: str = "demo-secret",
        token_ttl: int = proto.DEFAULT_TOKEN_TTL,
        expired_reply: str = "http",
    ) -> None:
        super().__init__(
            proto.PATHS,
            {report: f"econ/{report}.schema.json" for report in proto.PATHS},
            [Route(proto.TOKEN_PATH, self.issue_token, methods=["POST"])],
        )
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.expired_reply = expired_reply  # "http": HTTP 401; "code": 40101 inside HTTP 200
        self.tokens: dict[str, float] = {}  # token -> expiry (time.time())
        self.tokens_issued = 0

    def answer(self, code: Any, message: str, data: object = None) -> Response:
        return json_response({"code": code, "message": message, "data": data})

    async def fault_answer(self, fault: Fault) -> Response | None:
        if fault.mode == "401":
            return json_response({"code": proto.TOKEN_INVALID, "message": "未授权"}, 401)
        return await super().fault_answer(fault)

    def expire_tokens(self) -> None:
        """Revoke every issued token: the next report request is refused as unauthorized."""
        with self.lock:
            self.tokens.clear()

    async def issue_token(self, request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return self.answer("42201", "请求体不是合法 JSON")
        if (
            not isinstance(body, dict)
            or body.get("clientId") != self.client_id
            or not secrets.compare_digest(str(body.get("clientSecret", "")), self.client_secret)
        ):
            return self.answer(proto.BAD_CLIENT, "clientId 或 clientSecret 错误")
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = time.time() + self.token_ttl
            self.tokens_issued += 1
        data = {"accessToken": token, "tokenType": "Bearer", "expiresIn": self.token_ttl}
        return self.answer(proto.SUCCESS, "success", data)

    def _token_ok(self, request: Request) -> bool:
        token = proto.token_from_header(request.headers.get("Authorization"))
        with self.lock:
            expiry = self.tokens.get(token or "")
        return expiry is not None and expiry > time.time()

    async def receive(self, request: Request) -> Response:
        if (early := await self.interrupted()) is not None:
            return early
        if not self._token_ok(request):
            if self.expired_reply == "code":
                return self.answer(proto.TOKEN_INVALID, "令牌无效或已过期")
            return json_response({"code": proto.TOKEN_INVALID, "message": "令牌无效或已过期"}, 401)
        keyed = await self.keyed_payload(request, proto.IDEMPOTENCY_HEADER)
        if isinstance(keyed, Response):
            return keyed
        key, report, payload = keyed
        first, duplicate = self.accept(
            key, report, payload, lambda: f"JX{uuid.uuid4().hex[:16].upper()}"
        )
        await self.after_accept()
        data = {"receiptId": first.receipt, "duplicate": duplicate}
        return self.answer(proto.SUCCESS, "success", data)

    def state(self) -> dict[str, Any]:
        return {**super().state(), "tokensIssued": self.tokens_issued}
