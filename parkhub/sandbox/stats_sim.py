"""Loopback simulator of the 统计 upload endpoint: takes the monthly workbook as multipart, checks
the bearer token and that the file opens as xlsx, dedups on the idempotency key."""

from __future__ import annotations

import io
import secrets
import uuid
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, ClassVar

from openpyxl import load_workbook
from starlette.requests import Request
from starlette.responses import Response

from parkhub.protocols import stats as proto

from .platform_sim import PlatformSim, json_response

REPORT = "enterprise_monthly"


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

    message_key: ClassVar[str] = "msg"
    busy: ClassVar[tuple[Any, str]] = (5001, "系统繁忙")
    business: ClassVar[tuple[Any, str]] = (2002, "报表期别已关闭")
    bad_payload: ClassVar[Any] = 2001
    key_header: ClassVar[str] = proto.IDEMPOTENCY_HEADER
    receipt_at: ClassVar[str] = "data.receiptNo"

    def __init__(self, *, token: str = "demo-upload-token") -> None:
        super().__init__({REPORT: proto.UPLOAD_PATH}, {})
        self.token = token
        self.latest: dict[tuple[str, str], bytes] = {}

    def answer(self, code: Any, message: str, data: object = None) -> Response:
        return json_response({"code": code, "msg": message, "data": data})

    async def receive(self, request: Request) -> Response:
        if (early := await self.interrupted()) is not None:
            return early
        auth = request.headers.get("Authorization", "")
        if not secrets.compare_digest(auth.encode(), f"Bearer {self.token}".encode()):
            return self.answer(1001, "上传凭证无效")
        key = request.headers.get(proto.IDEMPOTENCY_HEADER, "")
        fields = parse_multipart(request.headers.get("content-type", ""), await request.body())
        park = fields.get(proto.PARK_FIELD, (None, b""))[1].decode()
        period = fields.get(proto.PERIOD_FIELD, (None, b""))[1].decode()
        upload = fields.get(proto.FILE_FIELD)
        if not (key and park and period and upload):
            return self.answer(2001, "缺少文件或字段 (missing file, parkCode, statPeriod or key)")
        content = upload[1]
        try:
            load_workbook(io.BytesIO(content), read_only=True).close()
        except Exception:
            return self.refuse(2001, "文件格式错误")
        meta: dict[str, Any] = {"parkCode": park, "statPeriod": period, "file": upload[0]}
        first, duplicate = self.accept(
            key,
            REPORT,
            meta,
            lambda: f"TJ{uuid.uuid4().hex[:16].upper()}",
            lambda: self.latest.__setitem__((park, period), content),
        )
        await self.after_accept()
        data = {"receiptNo": first.receipt, "duplicate": duplicate}
        return self.answer(proto.SUCCESS, "ok", data)
