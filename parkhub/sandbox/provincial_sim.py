"""Loopback simulator of the provincial platform: checks signatures and payload schemas, dedups
on the request id, and can be told to fail (503, timeout, business error) for outage tests."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import jsonschema
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parkhub.protocols import provincial as proto

PATHS = {
    "/openapi/v1/park/monthly-report": "park_monthly",
    "/openapi/v1/park/enterprises": "enterprise",
}


def _json(obj: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status_code=status, media_type="application/json")


def _validator(name: str) -> Any:
    path = files("parkhub") / "schemas" / "platforms" / "provincial" / f"{name}.schema.json"
    schema = orjson.loads(path.read_bytes())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@dataclass
class Fault:
    mode: str  # "503" | "timeout" | "busy" | "business" | "reset"
    remaining: int
    delay: float = 0.0


@dataclass
class Accepted:
    receipt_no: str
    request_id: str
    report: str
    payload: dict[str, Any]
    at: float = field(default_factory=time.time)


class ProvincialSim:
    def __init__(
        self,
        *,
        app_key: str = "demo-key",
        app_secret: str = "demo-secret",
        known_parks: set[str] | None = None,
    ) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        self.known_parks = known_parks
        self.lock = threading.Lock()
        self.accepted: dict[str, Accepted] = {}  # request id -> first acceptance
        self.nonces: set[str] = set()
        self.requests = 0
        self.duplicates = 0
        self.rejections: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.delay_after_accept = 0.0
        self.outage_until = 0.0
        self.validators = {name: _validator(name) for name in PATHS.values()}
        self.app = Starlette(
            routes=[
                *(Route(path, self.receive, methods=["POST"]) for path in PATHS),
                Route("/_sandbox/state", self.state),
                Route("/_sandbox/fail", self.fail_http, methods=["POST"]),
            ]
        )

    def fail(self, mode: str, times: int = 1, delay: float = 0.0) -> None:
        """Make the next `times` requests fail with `mode`."""
        with self.lock:
            self.faults.append(Fault(mode, times, delay))

    def outage(self, seconds: float) -> None:
        """Answer 503 to everything for the next `seconds`."""
        self.outage_until = time.time() + seconds

    def _next_fault(self) -> Fault | None:
        with self.lock:
            while self.faults and self.faults[0].remaining <= 0:
                self.faults.pop(0)
            if not self.faults:
                return None
            self.faults[0].remaining -= 1
            return self.faults[0]

    def by_report(self, report: str) -> list[Accepted]:
        return [a for a in self.accepted.values() if a.report == report]

    def _reject(self, code: str, message: str) -> Response:
        self.rejections.append({"code": code, "message": message})
        return _json({"code": code, "message": message, "data": None})

    async def receive(self, request: Request) -> Response:
        self.requests += 1
        if time.time() < self.outage_until:
            return _json({"message": "Service Unavailable (维护中)"}, 503)
        fault = self._next_fault()
        if fault is not None:
            if fault.mode == "503":
                return _json({"message": "Service Unavailable"}, 503)
            if fault.mode == "timeout":
                await asyncio.sleep(fault.delay or 30)
                return _json({"message": "late"}, 504)
            if fault.mode == "busy":
                return _json({"code": "5000", "message": "系统繁忙", "data": None})
            if fault.mode == "business":
                return _json({"code": "2002", "message": "园区编码不存在", "data": None})
        body = await request.body()
        h = request.headers
        key, ts, nonce, sign = h.get("appKey"), h.get("timestamp"), h.get("nonce"), h.get("sign")
        if not (key and ts and nonce and sign):
            return _json({"message": "missing signature headers"}, 401)
        if key != self.app_key:
            return self._reject("1004", "appKey 不存在")
        if not ts.isdigit() or abs(int(ts) - time.time() * 1000) > proto.MAX_SKEW_MS:
            return self._reject("1002", "时间戳超出允许范围")
        if not proto.verify(self.app_secret, key, ts, nonce, "POST", request.url.path, body, sign):
            return self._reject("1001", "签名无效")
        with self.lock:
            if nonce in self.nonces:
                return self._reject("1003", "重复的 nonce")
            self.nonces.add(nonce)
        request_id = h.get(proto.REQUEST_ID_HEADER, "")
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return self._reject("2001", "请求体不是合法 JSON")
        report = PATHS[request.url.path]
        error = jsonschema.exceptions.best_match(self.validators[report].iter_errors(payload))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path)
            return self._reject("2001", f"数据校验失败: {where}: {error.message}")
        if self.known_parks is not None and payload.get("parkCode") not in self.known_parks:
            return self._reject("2002", "园区编码不存在")
        with self.lock:
            first = self.accepted.get(request_id) if request_id else None
            if first is None:
                first = Accepted(f"ZJ{uuid.uuid4().hex[:16].upper()}", request_id, report, payload)
                self.accepted[request_id or first.receipt_no] = first
                duplicate = False
            else:
                self.duplicates += 1
                duplicate = True
        if self.delay_after_accept:
            await asyncio.sleep(self.delay_after_accept)
        return _json(
            {
                "code": "0",
                "message": "success",
                "data": {"receiptNo": first.receipt_no, "duplicate": duplicate},
            }
        )

    async def state(self, request: Request) -> Response:
        return _json(
            {
                "requests": self.requests,
                "duplicates": self.duplicates,
                "accepted": [
                    {
                        "receiptNo": a.receipt_no,
                        "requestId": a.request_id,
                        "report": a.report,
                        "payload": a.payload,
                    }
                    for a in self.accepted.values()
                ],
                "rejections": self.rejections,
            }
        )

    async def fail_http(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        if "delay_after_accept" in body:
            self.delay_after_accept = float(body["delay_after_accept"])
        if "mode" in body:
            self.fail(str(body["mode"]), int(body.get("times", 1)), float(body.get("delay", 0)))
        return _json({"ok": True})
