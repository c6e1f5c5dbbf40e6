"""Loopback simulator of China Telecom CTWing (AEP): `/echo`, signed device-status history paging,
and a subscription-push sender. Modelled on formats.md section 3 and the AEP API doc."""

from __future__ import annotations

import hmac
import itertools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parkhub.protocols.ctwing import signature
from parkhub.sandbox.sender import LoopbackSender

# Sample credentials from the CTWing sample code (formats.md 3.2).
DEMO_APP_KEY = "91Ebv1S0HBb"
DEMO_APP_SECRET = "FJDq8agNp5"
SMOKE_DEVICE = "acf7baaee65e431eadfb8f5fe50e8b81"
SMOKE_PRODUCT = "15014772"

# Real push (formats.md 3.1), used as the sender's default template.
DATA_REPORT_SMOKE = (
    '{"upPacketSN":-1,"upDataSN":-1,"topic":"v1/up/ad19prof","timestamp":1606982320277,'
    '"tenantId":"10461180","serviceId":"","protocol":"lwm2m","productId":"15014772","payload":'
    '{"serviceId":"notification","serviceData":{"TData":30,"SNR":1,"RSRP":114,'
    '"IMEI":"860374051096202","Cell_ID_Length":8,"Cell_ID":"38848339","CSQ":5,'
    '"Battery_Level":100,"Alarm_Status":2,"AlarmLevel":100}},"messageType":"dataReport",'
    '"deviceType":"","deviceId":"acf7baaee65e431eadfb8f5fe50e8b81","assocAssetId":"",'
    '"IMSI":"undefined","IMEI":"860374051096202"}'
)

HIS_PAGE_VERSION = "20190928013337"


def _json(obj: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status_code=status, media_type="application/json")


class CtwingSim:
    """Serves `/echo` and `getDeviceStatusHisInPage` over generated smoke-detector history.

    Each device has `points` records one `step_ms` apart; every tenth has a twin at the same
    millisecond. Pages run newest first; `page_timestamp` is `<13-digit ms><4-digit seq>` of
    the last record returned (records strictly older come next), empty on the last page.
    The server clock is ours plus `clock_offset_ms`; requests more than `max_skew_ms` away
    from it are refused, as the gateway does.
    """

    def __init__(
        self,
        *,
        app_key: str = DEMO_APP_KEY,
        app_secret: str = DEMO_APP_SECRET,
        devices: Mapping[str, Sequence[str]] | None = None,
        points: int = 120,
        step_ms: int = 60_000,
        start_ms: int | None = None,
        clock_offset_ms: int = 0,
        max_skew_ms: int = 15 * 60_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        self.clock_offset_ms = clock_offset_ms
        self.max_skew_ms = max_skew_ms
        self.clock = clock
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.fail_next = 0
        if start_ms is None:
            start_ms = (self.now_ms() // step_ms - points - 1) * step_ms
        self.start_ms = start_ms
        devs = devices if devices is not None else {SMOKE_PRODUCT: [SMOKE_DEVICE]}
        # (productId, deviceId) -> records oldest first, each with a unique (ts, seq)
        self.history: dict[tuple[str, str], list[dict[str, Any]]] = {
            (p, d): self._series(d, points, step_ms) for p, ds in devs.items() for d in ds
        }
        self.app = Starlette(
            routes=[
                Route("/echo", self.echo),
                Route(
                    "/aep_device_status/getDeviceStatusHisInPage", self.his_page, methods=["POST"]
                ),
            ]
        )

    def now_ms(self) -> int:
        return int(self.clock() * 1000) + self.clock_offset_ms

    def _series(self, device: str, points: int, step: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        seq = itertools.count()
        for i in range(points):
            ts = self.start_ms + i * step
            out.append(self._record(device, ts, next(seq), i))
            if i % 10 == 9:
                out.append(self._record(device, ts, next(seq), i + 1000))
        return out

    @staticmethod
    def _record(device: str, ts: int, seq: int, i: int) -> dict[str, Any]:
        return {
            "_seq": seq,
            "timestamp": ts,
            "deviceId": device,
            "Alarm_Status": 2 if i % 37 == 0 else 0,
            "TData": 20 + i % 15,
            "Battery_Level": max(0, 100 - i // 10),
        }

    async def echo(self, request: Request) -> Response:
        return Response(b"", headers={"x-ag-timestamp": str(self.now_ms())})

    def _auth_error(self, request: Request, body: bytes) -> tuple[int, str] | None:
        h = request.headers
        app, ts, sig = h.get("application"), h.get("timestamp"), h.get("signature")
        if not app or not ts or not sig or not h.get("version"):
            return 401, "missing application/timestamp/version/signature"
        if app != self.app_key:
            return 401, "application not found"
        if not ts.isdigit() or abs(int(ts) - self.now_ms()) > self.max_skew_ms:
            return 403, "timestamp out of range"
        params = {"MasterKey": h["MasterKey"]} if "MasterKey" in h else {}
        params.update(request.query_params)
        expected = signature(app, self.app_secret, ts, params, body)
        if not hmac.compare_digest(expected, sig):
            return 403, "signature verification failed"
        if h.get("version") != HIS_PAGE_VERSION:
            return 404, "Api version not found"
        return None

    async def his_page(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.requests.append({"headers": dict(request.headers), "body": body})
            if self.fail_next > 0:
                self.fail_next -= 1
                return _json({"code": 500, "msg": "internal error"}, 500)
        error = self._auth_error(request, body)
        if error is not None:
            return _json({"code": error[0], "msg": error[1]}, error[0])
        try:
            q = orjson.loads(body)
            key = (str(q["productId"]), str(q["deviceId"]))
            begin, end = int(q["begin_timestamp"]), int(q["end_timestamp"])
            size = int(q.get("page_size", 10))
            token = str(q.get("page_timestamp") or "")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return _json({"code": 1, "desc": "bad request body"}, 400)
        records = self.history.get(key)
        if records is None:
            return _json({"code": 1, "desc": "device not found"})
        window = [r for r in records if begin <= r["timestamp"] <= end]
        window.sort(key=lambda r: (r["timestamp"], r["_seq"]), reverse=True)
        if len(token) == 17:
            pos = (int(token[:13]), int(token[13:]))
            window = [r for r in window if (r["timestamp"], r["_seq"]) < pos]
        page = window[:size]
        more = len(window) > size
        nxt = f"{page[-1]['timestamp']:013d}{page[-1]['_seq']:04d}" if page and more else ""
        items = [{k: v for k, v in r.items() if k != "_seq"} for r in page]
        return _json({"code": 0, "page_timestamp": nxt, "deviceStatusList": items})

    def expected(self) -> set[tuple[str, int, int]]:
        """(deviceId, timestamp, TData) of every record, for tests."""
        return {
            (r["deviceId"], r["timestamp"], r["TData"]) for s in self.history.values() for r in s
        }


class PushSender(LoopbackSender):
    """POSTs CTWing subscription pushes to `url` (on 127.0.0.1) with `?token=`."""

    def __init__(self, url: str, token: str, *, client: httpx.Client | None = None) -> None:
        super().__init__(url, client)
        self.token = token

    def send(
        self, body: bytes | str = DATA_REPORT_SMOKE, *, token: str | None = ""
    ) -> httpx.Response:
        """POST `body`; `token` None sends no token, "" the configured one, else that one."""
        content = body.encode() if isinstance(body, str) else body
        params = {} if token is None else {"token": token or self.token}
        return self._client.post(
            self.url, params=params, content=content, headers={"content-type": "application/json"}
        )

    def replay(
        self, body: bytes | str = DATA_REPORT_SMOKE
    ) -> tuple[httpx.Response, httpx.Response]:
        """The same push twice, as CTWing does when it retries."""
        return self.send(body), self.send(body)

    def forged(self, body: bytes | str = DATA_REPORT_SMOKE) -> httpx.Response:
        return self.send(body, token=self.token + "x")

    def unsigned(self, body: bytes | str = DATA_REPORT_SMOKE) -> httpx.Response:
        return self.send(body, token=None)

    def garbage(self) -> httpx.Response:
        return self.send(b"\x00\xffnot json{")
