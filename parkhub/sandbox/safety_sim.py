"""Loopback simulator of the 应急管理 platform: checks HMAC signatures, timestamps, nonces and the
payload schema, keeps the latest revision per hazard, and fails on request."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parkhub.protocols import safety as proto

from .platform_sim import PlatformSim, json_response

REPORTS = {path: report for report, path in proto.PATHS.items()}


def _code(code: int, message: str, data: object = None) -> Response:
    return json_response({"errcode": code, "errmsg": message, "data": data})


class SafetySim(PlatformSim):
    """Fault modes: "503", "timeout" (sleeps `delay`, then 504), "busy" (30001), "business"
    (20002 enterprise not under this authority)."""

    def __init__(self, *, api_key: str = "demo-key", api_secret: str = "demo-secret") -> None:
        super().__init__({report: f"safety/{report}.schema.json" for report in proto.PATHS})
        self.api_key = api_key
        self.api_secret = api_secret
        self.nonces: set[str] = set()
        self.hazards: dict[str, dict[str, Any]] = {}  # hazardNo -> latest payload
        self.app = Starlette(
            routes=[
                *(Route(path, self.receive, methods=["POST"]) for path in REPORTS),
                Route("/_sandbox/state", self.state_http),
            ]
        )

    def _refuse(self, code: int, message: str) -> Response:
        self.reject({"errcode": code, "errmsg": message})
        return _code(code, message)

    async def receive(self, request: Request) -> Response:
        self.requests += 1
        if self.in_outage():
            return json_response({"errmsg": "Service Unavailable (维护中)"}, 503)
        fault = self.next_fault()
        if fault is not None:
            if fault.mode == "503":
                return json_response({"errmsg": "Service Unavailable"}, 503)
            if fault.mode == "timeout":
                await asyncio.sleep(fault.delay or 30)
                return json_response({"errmsg": "late"}, 504)
            if fault.mode == "busy":
                return _code(30001, "系统繁忙")
            if fault.mode == "business":
                return _code(20002, "企业不在属地监管名录中")
        body = await request.body()
        h = request.headers
        key, ts = h.get(proto.KEY_HEADER), h.get(proto.TIMESTAMP_HEADER)
        nonce, signature = h.get(proto.NONCE_HEADER), h.get(proto.SIGNATURE_HEADER)
        idem = h.get(proto.IDEMPOTENCY_HEADER)
        if not (key and ts and nonce and signature and idem):
            return json_response({"errmsg": "missing authentication headers"}, 401)
        if key != self.api_key:
            return self._refuse(10004, "API Key 不存在或已停用")
        if not ts.isdigit() or abs(int(ts) - time.time() * 1000) > proto.MAX_SKEW_MS:
            return self._refuse(10002, "时间戳超出允许范围")
        path = request.url.path
        if not proto.verify(self.api_secret, "POST", path, ts, nonce, idem, body, signature):
            return self._refuse(10001, "签名无效")
        with self.lock:
            if nonce in self.nonces:
                return self._refuse(10003, "重复的 nonce")
            self.nonces.add(nonce)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return self._refuse(20001, "请求体不是合法 JSON")
        report = REPORTS[path]
        error = self.schema_error(report, payload)
        if error is not None:
            return self._refuse(20001, f"数据校验失败: {error}")
        first, duplicate = self.accept(
            idem, report, payload, lambda: f"YJ{uuid.uuid4().hex[:16].upper()}"
        )
        if not duplicate:
            with self.lock:
                current = self.hazards.get(payload["hazardNo"])
                if current is None or current["revision"] <= payload["revision"]:
                    self.hazards[payload["hazardNo"]] = payload
        return _code(proto.SUCCESS, "ok", {"recordId": first.receipt, "duplicate": duplicate})

    async def state_http(self, request: Request) -> Response:
        return json_response({**self.state(), "hazards": self.hazards})
