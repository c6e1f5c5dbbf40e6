"""Loopback simulator of the provincial platform: checks signatures and payload schemas, dedups
on the request id, and can be told to fail (503, timeout, business error) for outage tests."""

from __future__ import annotations

import time
import uuid
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response

from parkhub.protocols import provincial as proto

from .platform_sim import PlatformSim, json_response

SCHEMAS = {
    "park_monthly": "provincial/park_monthly.schema.json",
    "enterprise_roster": "provincial/enterprise.schema.json",
}


class ProvincialSim(PlatformSim):
    """Fault modes: "503", "timeout" (sleeps `delay`, then 504), "busy" (5000), "business"
    (2002 unknown park code). `known_parks`: refuse other park codes (2002)."""

    busy: ClassVar[tuple[Any, str]] = ("5000", "系统繁忙")
    business: ClassVar[tuple[Any, str]] = ("2002", "园区编码不存在")
    bad_payload: ClassVar[Any] = "2001"
    key_header: ClassVar[str] = proto.REQUEST_ID_HEADER
    receipt_at: ClassVar[str] = "data.receiptNo"

    def __init__(
        self,
        *,
        app_key: str = "demo-key",
        app_secret: str = "demo-secret",
        known_parks: set[str] | None = None,
    ) -> None:
        super().__init__(proto.PATHS, SCHEMAS)
        self.app_key = app_key
        self.app_secret = app_secret
        self.known_parks = known_parks

    def answer(self, code: Any, message: str, data: object = None) -> Response:
        return json_response({"code": code, "message": message, "data": data})

    async def receive(self, request: Request) -> Response:
        if (early := await self.interrupted()) is not None:
            return early
        body = await request.body()
        key, ts, nonce, sign = (request.headers.get(h) for h in proto.SIGNED_HEADERS)
        if not (key and ts and nonce and sign):
            return json_response({"message": "missing signature headers"}, 401)
        if key != self.app_key:
            return self.refuse("1004", "appKey 不存在")
        if not ts.isdigit() or abs(int(ts) - time.time() * 1000) > proto.MAX_SKEW_MS:
            return self.refuse("1002", "时间戳超出允许范围")
        if not proto.verify(self.app_secret, key, ts, nonce, "POST", request.url.path, body, sign):
            return self.refuse("1001", "签名无效")
        if not self.first_use(nonce):
            return self.refuse("1003", "重复的 nonce")
        report = self.report_at[request.url.path]
        payload, refusal = self.payload_or_refusal(report, body)
        if refusal is not None:
            return refusal
        if self.known_parks is not None and payload.get("parkCode") not in self.known_parks:
            return self.refuse("2002", "园区编码不存在")
        receipt = f"ZJ{uuid.uuid4().hex[:16].upper()}"
        request_id = request.headers.get(proto.REQUEST_ID_HEADER) or receipt  # none: no dedup
        first, duplicate = self.accept(request_id, report, payload, lambda: receipt)
        await self.after_accept()
        data = {"receiptNo": first.receipt, "duplicate": duplicate}
        return self.answer(proto.SUCCESS, "success", data)
