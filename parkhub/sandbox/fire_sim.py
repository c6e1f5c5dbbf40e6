"""Loopback simulator of the 消防 platform: checks the API key and the payload schema, dedups on
the request id, acknowledges with an ack id, and fails on request."""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response

from parkhub.protocols import fire as proto

from .platform_sim import PlatformSim, json_response


class FireSim(PlatformSim):
    """Fault modes: "503", "timeout" (sleeps `delay`, then 504), "busy" (E500), "business"
    (E202 device not registered). `ack_times` keeps when each ack was sent (time.time())."""

    message_key: ClassVar[str] = "errorMsg"
    busy: ClassVar[tuple[Any, str]] = ("E500", "系统繁忙")
    business: ClassVar[tuple[Any, str]] = ("E202", "设备未在消防物联网平台登记")
    bad_payload: ClassVar[Any] = "E201"
    key_header: ClassVar[str] = proto.REQUEST_ID_HEADER
    receipt_at: ClassVar[str] = "ackId"

    def __init__(self, *, api_key: str = "demo-fire-key") -> None:
        super().__init__(proto.PATHS, {r: f"fire/{r}.schema.json" for r in proto.PATHS})
        self.api_key = api_key
        self.ack_times: dict[str, float] = {}  # eventId -> first ack
        self._seq = itertools.count(1)

    def answer(self, code: Any, message: str, data: object = None) -> Response:
        return json_response({"result": "error", "errorCode": code, "errorMsg": message})

    async def receive(self, request: Request) -> Response:
        if (early := await self.interrupted()) is not None:
            return early
        key = request.headers.get(proto.API_KEY_HEADER, "")
        if not secrets.compare_digest(key.encode(), self.api_key.encode()):
            return json_response(
                {"result": "error", "errorCode": "E101", "errorMsg": "无效的 API Key"}, 401
            )
        keyed = await self.keyed_payload(request, proto.REQUEST_ID_HEADER)
        if isinstance(keyed, Response):
            return keyed
        request_id, report, payload = keyed
        first, duplicate = self.accept(
            request_id,
            report,
            payload,
            lambda: f"XF{time.strftime('%Y%m%d')}{next(self._seq):08d}",
            lambda: self.ack_times.setdefault(str(payload["eventId"]), time.time()),
        )
        await self.after_accept()
        ack = {"result": proto.RESULT_OK, "ackId": first.receipt, "duplicate": duplicate}
        return json_response(ack)
