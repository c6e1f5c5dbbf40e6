"""Loopback simulator of the 应急管理 platform: checks HMAC signatures, timestamps, nonces and the
payload schema, keeps the latest revision per hazard, and fails on request."""

from __future__ import annotations

import time
import uuid
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response

from parkhub.protocols import safety as proto

from .platform_sim import PlatformSim, json_response


class SafetySim(PlatformSim):
    """Fault modes: "503", "timeout" (sleeps `delay`, then 504), "busy" (30001), "business"
    (20002 enterprise not under this authority)."""

    message_key: ClassVar[str] = "errmsg"
    busy: ClassVar[tuple[Any, str]] = (30001, "系统繁忙")
    business: ClassVar[tuple[Any, str]] = (20002, "企业不在属地监管名录中")
    bad_payload: ClassVar[Any] = 20001
    key_header: ClassVar[str] = proto.IDEMPOTENCY_HEADER
    receipt_at: ClassVar[str] = "data.recordId"

    def __init__(self, *, api_key: str = "demo-key", api_secret: str = "demo-secret") -> None:
        super().__init__(proto.PATHS, {r: f"safety/{r}.schema.json" for r in proto.PATHS})
        self.api_key = api_key
        self.api_secret = api_secret
        self.hazards: dict[str, dict[str, Any]] = {}  # hazardNo -> latest payload

    def answer(self, code: Any, message: str, data: object = None) -> Response:
        return json_response({"errcode": code, "errmsg": message, "data": data})

    async def receive(self, request: Request) -> Response:
        if (early := await self.interrupted()) is not None:
            return early
        body = await request.body()
        h = request.headers
        key, ts = h.get(proto.KEY_HEADER), h.get(proto.TIMESTAMP_HEADER)
        nonce, signature = h.get(proto.NONCE_HEADER), h.get(proto.SIGNATURE_HEADER)
        idem = h.get(proto.IDEMPOTENCY_HEADER)
        if not (key and ts and nonce and signature and idem):
            return json_response({"errmsg": "missing authentication headers"}, 401)
        if key != self.api_key:
            return self.refuse(10004, "API Key 不存在或已停用")
        if not ts.isdigit() or abs(int(ts) - time.time() * 1000) > proto.MAX_SKEW_MS:
            return self.refuse(10002, "时间戳超出允许范围")
        path = request.url.path
        if not proto.verify(self.api_secret, "POST", path, ts, nonce, idem, body, signature):
            return self.refuse(10001, "签名无效")
        if not self.first_use(nonce):
            return self.refuse(10003, "重复的 nonce")
        report = self.report_at[path]
        payload, refusal = self.payload_or_refusal(report, body)
        if refusal is not None:
            return refusal
        first, duplicate = self.accept(
            idem,
            report,
            payload,
            lambda: f"YJ{uuid.uuid4().hex[:16].upper()}",
            lambda: self._keep_latest(payload),
        )
        await self.after_accept()
        return self.answer(proto.SUCCESS, "ok", {"recordId": first.receipt, "duplicate": duplicate})

    def _keep_latest(self, payload: dict[str, Any]) -> None:
        current = self.hazards.get(payload["hazardNo"])
        if current is None or current["revision"] <= payload["revision"]:
            self.hazards[payload["hazardNo"]] = payload

    def state(self) -> dict[str, Any]:
        return {**super().state(), "hazards": self.hazards}
