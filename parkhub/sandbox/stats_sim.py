"""Loopback simulator of the 统计 upload endpoint: takes the monthly workbook as multipart, checks
the bearer token and that the file opens as xlsx, dedups on the idempotency key."""

from __future__ import annotations

import asyncio
import io
import secrets
import uuid
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from openpyxl import load_workbook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parkhub.protocols import stats as proto

from .platform_sim import PlatformSim, json_response


def _code(code: int, msg: str, data: object = None) -> Response:
    return json_response({"code": code, "msg": msg, "data": data})


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form field name -> (file name, bytes) of a multipart/form-data body (stdlib only)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message: Message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, tuple[str | None, bytes]] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if name:
            fields[str(name)] = (part.get_filename(), payload or b"")
    return fields


class StatsSim(PlatformSim):
    """Fault modes: "503", "timeout" (sleeps `delay`, then 504), "busy" (5001), "business"
    (2002 period closed). `latest[(park, period)]` is the last workbook uploaded."""

    def __init__(self, *, token: str = "demo-upload-token") -> None:
        super().__init__({})
        self.token = token
        self.latest: dict[tuple[str, str], bytes] = {}
        self.app = Starlette(
            routes=[
                Route(proto.UPLOAD_PATH, self.receive, methods=["POST"]),
                Route("/_sandbox/state", self.state_http),
            ]
        )

    async def receive(self, request: Request) -> Response:
        self.requests += 1
        if self.in_outage():
            return json_response({"msg": "Service Unavailable (维护中)"}, 503)
        fault = self.next_fault()
        if fault is not None:
            if fault.mode == "503":
                return json_response({"msg": "Service Unavailable"}, 503)
            if fault.mode == "timeout":
                await asyncio.sleep(fault.delay or 30)
                return json_response({"msg": "late"}, 504)
            if fault.mode == "busy":
                return _code(5001, "系统繁忙")
            if fault.mode == "business":
                return _code(2002, "报表期别已关闭")
        auth = request.headers.get("Authorization", "")
        if not secrets.compare_digest(auth.encode(), f"Bearer {self.token}".encode()):
            return _code(1001, "上传凭证无效")
        key = request.headers.get(proto.IDEMPOTENCY_HEADER, "")
        fields = parse_multipart(request.headers.get("content-type", ""), await request.body())
        park = fields.get(proto.PARK_FIELD, (None, b""))[1].decode()
        period = fields.get(proto.PERIOD_FIELD, (None, b""))[1].decode()
        upload = fields.get(proto.FILE_FIELD)
        if not (key and park and period and upload):
            return _code(2001, "缺少文件或字段 (missing file, parkCode, statPeriod or key)")
        content = upload[1]
        try:
            load_workbook(io.BytesIO(content), read_only=True).close()
        except Exception:
            self.reject({"code": 2001, "msg": "not xlsx"})
            return _code(2001, "文件格式错误")
        meta: dict[str, Any] = {"parkCode": park, "statPeriod": period, "file": upload[0]}
        first, duplicate = self.accept(
            key, "enterprise_monthly", meta, lambda: f"TJ{uuid.uuid4().hex[:16].upper()}"
        )
        if not duplicate:
            with self.lock:
                self.latest[(park, period)] = content
        return _code(proto.SUCCESS, "ok", {"receiptNo": first.receipt, "duplicate": duplicate})

    async def state_http(self, request: Request) -> Response:
        return json_response(self.state())
