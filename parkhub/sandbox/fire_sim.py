"""Loopback simulator of the 消防 platform: checks the API key and the payload schema, dedups on
the request id, acknowledges with an ack id, and fails on request."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parkhub.protocols import fire as proto

from .platform_sim import PlatformSim, json_response

REPORTS = {path: report for report, path in proto.PATHS.items()}


def _error(code: str, message: str) -> Response:
    return json_response({"result": "error", "errorCode": code, "errorMsg": message})


class FireSim(PlatformSim):
    """Fault modes: "503", "timeout" (sleeps `delay`, then 504), "busy" (E500), "business"
    (E202 device not registered). `ack_times` keeps when each ack was sent (time.time())."""

    def __init__(self, *, api_key: str = "demo-fire-key") -> None:
        super().__init__({report: f"fire/{report}.schema.json" for report in proto.PATHS})
        self.api_key = api_key
        self.ack_times: dict[str, float] = {}  # eventId -> first ack
        self._seq = itertools.count(1)
        self.app = Starlette(
            routes=[
                *(Route(path, self.receive, methods=["POST"]) for path in REPORTS),
                Route("/_sandbox/state", self.state_http),
            ]
        )

    async def receive(self, request: Request) -> Response:
        self.requests += 1
        if self.in_outage():
            return json_response({"errorMsg": "Service Unavailable (维护中)"}, 503)
        fault = self.next_fault()
        if fault is not None:
            if fault.mode == "503":
                return json_response({"errorMsg": "Service Unavailable"}, 503)
            if fault.mode == "timeout":
                await asyncio.sleep(fault.delay or 30)
                return json_response({"errorMsg": "late"}, 504)
            if fault.mode == "busy":
                return _error("E500", "系统繁忙")
            if fault.mode == "business":
                return _error("E202", "设备未在消防物联网平台登记")
        key = request.headers.get(proto.API_KEY_HEADER, "")
        if not secrets.compare_digest(key.encode(), self.api_key.encode()):
            return json_response(
                {"result": "error", "errorCode": "E101", "errorMsg": "无效的 API Key"}, 401
            )
        request_id = request.headers.get(proto.REQUEST_ID_HEADER, "")
        if not request_id:
            return _error("E201", f"缺少 {proto.REQUEST_ID_HEADER}")
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _error("E201", "请求体不是合法 JSON")
        report = REPORTS[request.url.path]
        error = self.schema_error(report, payload)
        if error is not None:
            self.reject({"errorCode": "E201", "errorMsg": error})
            return _error("E201", f"数据校验失败: {error}")
        first, duplicate = self.accept(
            request_id, report, payload, lambda: f"XF{time.strftime('%Y%m%d')}{next(self._seq):08d}"
        )
        if not duplicate:
            with self.lock:
                self.ack_times.setdefault(str(payload["eventId"]), time.time())
        return json_response({"result": "ok", "ackId": first.receipt, "duplicate": duplicate})

    async def state_http(self, request: Request) -> Response:
        return json_response(self.state())
