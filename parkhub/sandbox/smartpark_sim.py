"""Loopback simulator of a generic smart-park REST API: the vendor examples/vendors/
smartpark.vendor.yaml describes (enterprise roster, meter readings, alarms; devices and
monthly figures besides).

Its wire shape is what small park vendors commonly serve: `{"code": 0, "msg": "ok", "data":
...}` with business codes inside HTTP 200; page-number, offset, cursor-token and next-link
lists; and one of three ways in, all written here independently of the adapter: a static
token, requests signed over their sorted parameters (HMAC-SHA256, MD5 or SHA-256), or OAuth2
client credentials. Tests inject faults (`fail_next`) and add data while it runs.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import itertools
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .data import enterprises

AuthMode = Literal["token", "signed", "oauth2"]
Fault = Literal["http_500", "http_503", "http_429", "busy", "error", "slow", "refuse"]
DEMO_KEY = "sp-demo-app"
DEMO_SECRET = "sp-demo-secret"
DEMO_TOKEN = "sp-demo-token"
BASE = "/openapi/v1"
CODES = {"ok": 0, "busy": 50001, "error": 40001, "auth": 40101, "stale": 40102}
"""Business codes: success, busy (retry), a bad request, credentials refused, a stale signature."""
ALARM_TYPES = ("smoke", "fire", "fault", "gas", "offline")


def _answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _ok(data: Any) -> Response:
    return _answer({"code": CODES["ok"], "msg": "ok", "data": data})


def _code(name: str, msg: str) -> Response:
    return _answer({"code": CODES[name], "msg": msg, "data": None})


def sign(digest: str, secret: str, params: dict[str, str]) -> str:
    """The signature this vendor expects: over every query parameter but `sign`, sorted by name,
    as `k=v` joined by `&` (empty values left out); HMAC-SHA256 keyed by the secret, MD5 of
    secret + string + secret, or SHA-256 of string + `&key=` + secret; upper-case hex."""
    text = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != "")
    if digest == "md5":
        out = hashlib.md5(f"{secret}{text}{secret}".encode()).hexdigest()
    elif digest == "sha256":
        out = hashlib.sha256(f"{text}&key={secret}".encode()).hexdigest()
    else:
        out = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return out.upper()


class SmartParkSim:
    """The simulated vendor; tests change its state directly (same process)."""

    def __init__(
        self,
        *,
        auth: AuthMode = "signed",
        digest: Literal["hmac-sha256", "md5", "sha256"] = "hmac-sha256",
        app_key: str = DEMO_KEY,
        app_secret: str = DEMO_SECRET,
        token: str = DEMO_TOKEN,
        enterprise_count: int = 12,
        days: int = 10,
        period: str = "2026-10",
        bad_reading: bool = True,
        max_skew_s: float = 300.0,
        slow_s: float = 2.0,
    ) -> None:
        self.auth, self.digest = auth, digest
        self.app_key, self.app_secret, self.token = app_key, app_secret, token
        self.max_skew_s, self.slow_s = max_skew_s, slow_s
        self.lock = threading.Lock()
        self.tokens: set[str] = set()
        self.issued = 0
        self.nonces: deque[str] = deque(maxlen=10_000)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.faults: deque[Fault | None] = deque()
        self._rng = random.Random(11)
        self._ids = itertools.count(1)
        self.enterprises = [_enterprise(e) for e in enterprises("330302", enterprise_count)]
        self.readings: list[dict[str, Any]] = []
        self.alarms: list[dict[str, Any]] = []
        self.devices: list[dict[str, Any]] = []
        self.monthly: list[dict[str, Any]] = []
        self._seed(period, days, bad_reading)
        self.app = Starlette(
            routes=[
                Route("/oauth/token", self.oauth_token, methods=["POST"]),
                Route(f"{BASE}/enterprises", self._guarded(self.list_enterprises)),
                Route(f"{BASE}/meter-readings", self._guarded(self.list_readings)),
                Route(f"{BASE}/alarms", self._guarded(self.list_alarms)),
                Route(f"{BASE}/devices", self._guarded(self.list_devices)),
                Route(f"{BASE}/monthly", self._guarded(self.list_monthly)),
            ]
        )

    # -- data -------------------------------------------------------------------------------

    def _seed(self, period: str, days: int, bad_reading: bool) -> None:
        start = dt.datetime.strptime(f"{period}-01", "%Y-%m-%d")
        for i, ent in enumerate(self.enterprises):
            self.devices.append(_device(f"M-{ent['entNo']}", "electric_meter", ent))
            if i % 3 == 0:
                self.devices.append(_device(f"W-{ent['entNo']}", "water_meter", ent))
            self.monthly.append(self._monthly(ent, period))
        for day in range(days):
            at = start + dt.timedelta(days=day)
            for dev in self.devices:
                self.add_reading(dev, at)
        if bad_reading and self.readings:
            self.readings[len(self.readings) // 2]["value"] = "--"  # a meter that sent no number
        for i in range(6):
            self.add_alarm(start + dt.timedelta(days=i, hours=9, minutes=7 * i))

    def _monthly(self, ent: dict[str, Any], period: str) -> dict[str, Any]:
        scale = 8 if ent["scale"] == "规上" else 1
        rng = self._rng
        return {
            "uscc": ent["uscc"],
            "month": period.replace("-", ""),
            "output": round(rng.uniform(80, 400) * scale, 2),  # 万元
            "revenue": round(rng.uniform(90, 420) * scale, 2),
            "tax": round(rng.uniform(3, 30) * scale, 2),
            "staff": rng.randint(15, 60) * scale,
            "power": round(rng.uniform(2, 15) * scale, 3),  # 万kWh
        }

    def add_reading(self, device: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
        water = device["kind"] == "water_meter"
        big = device["uscc"] == self.enterprises[0]["uscc"]  # one meter reports in MWh
        row = {
            "id": next(self._ids),
            "meterNo": device["code"],
            "type": "water" if water else "electric",
            "readTime": at.strftime("%Y-%m-%d %H:%M:%S"),
            "value": round(self._rng.uniform(1, 3) if big else self._rng.uniform(20, 900), 3),
            "unit": "m3" if water else ("MWh" if big else "kWh"),
            "uscc": device["uscc"],
        }
        with self.lock:
            self.readings.append(row)
        return row

    def add_readings(self, count: int) -> None:
        """`count` new readings, after every reading there is (a day later each round)."""
        last = dt.datetime.strptime(self.readings[-1]["readTime"], "%Y-%m-%d %H:%M:%S")
        for i in range(count):
            day = last + dt.timedelta(days=1 + i // len(self.devices))
            self.add_reading(self.devices[i % len(self.devices)], day)

    def add_alarm(self, at: dt.datetime, kind: str | None = None) -> dict[str, Any]:
        n = len(self.alarms) + 1
        device = self.devices[n % len(self.devices)]
        row = {
            "alarmId": f"AL{n:06d}",
            "type": kind or ALARM_TYPES[n % len(ALARM_TYPES)],
            "level": 1 + n % 3,
            "deviceNo": device["code"],
            "location": device["location"],
            "alarmTime": at.strftime("%Y-%m-%d %H:%M:%S"),
            "status": "closed" if n % 2 else "open",
            "content": f"{device['location']} 报警",
        }
        with self.lock:
            self.alarms.append(row)
        return row

    def touch_enterprise(self, index: int, at: str, **changes: Any) -> None:
        with self.lock:
            self.enterprises[index].update(changes, updatedAt=at)

    # -- faults and auth --------------------------------------------------------------------

    def fail_next(self, fault: Fault, times: int = 1, *, after: int = 0) -> None:
        """After `after` more API requests, the next `times` fail as `fault` says: an HTTP
        status, a business code (busy: transient; error: permanent), refused credentials, or an
        answer slower than `slow_s` seconds."""
        with self.lock:
            self.faults.extend([None] * after + [fault] * times)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def _guarded(self, handler: Callable[[Request], Response]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            params = dict(request.query_params)
            with self.lock:
                self.requests.append((request.url.path, params))
                fault = self.faults.popleft() if self.faults else None
            if fault is not None and (failed := await self._fault(fault)) is not None:
                return failed
            refused = self._refused(request, params)
            return refused if refused is not None else handler(request)

        return endpoint

    async def _fault(self, fault: Fault) -> Response | None:
        if fault == "slow":
            await asyncio.sleep(self.slow_s)
            return None
        if fault.startswith("http_"):
            extra = {"Retry-After": "0"} if fault == "http_429" else None
            return _answer({"code": 500, "msg": "gateway"}, int(fault[5:]), extra)
        if fault == "busy":
            return _code("busy", "系统繁忙，请稍后重试")
        if fault == "refuse":
            return _code("auth", "凭证无效")
        return _code("error", "参数错误")

    def _refused(self, request: Request, params: dict[str, str]) -> Response | None:
        if self.auth == "signed":
            return self._check_signature(params)
        header = request.headers.get("authorization", "")
        given = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        valid = {self.token} if self.auth == "token" else self.tokens
        if given is None or given not in valid:
            return _answer({"code": CODES["auth"], "msg": "token 无效或已过期"}, 401)
        return None

    def _check_signature(self, params: dict[str, str]) -> Response | None:
        if params.get("appKey") != self.app_key or "sign" not in params:
            return _code("auth", "appKey 无效或缺少签名")
        if not hmac.compare_digest(params["sign"], sign(self.digest, self.app_secret, params)):
            return _code("auth", "签名错误")
        try:
            age = abs(time.time() - int(params.get("timestamp", "0")) / 1000)
        except ValueError:
            age = float("inf")
        if age > self.max_skew_s:
            return _code("stale", "时间戳过期")
        with self.lock:
            nonce = params.get("nonce", "")
            if not nonce or nonce in self.nonces:
                return _code("auth", "nonce 重复")
            self.nonces.append(nonce)
        return None

    async def oauth_token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        client = (form.get("client_id"), form.get("client_secret"))
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            pair = base64.b64decode(header[6:]).decode().partition(":")
            client = (pair[0], pair[2])
        if form.get("grant_type") != "client_credentials" or client != (
            self.app_key,
            self.app_secret,
        ):
            return _answer({"error": "invalid_client"}, 401)
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens.add(token)
            self.issued += 1
        return _answer({"access_token": token, "token_type": "bearer", "expires_in": 7200})

    # -- lists ------------------------------------------------------------------------------

    def _since(
        self, rows: list[dict[str, Any]], field: str, since: str, tiebreak: str
    ) -> list[dict[str, Any]]:
        """`rows` whose `field` is `since` or later (inclusive), in the order of `field`."""
        with self.lock:
            ordered = sorted(rows, key=lambda r: (r[field], r[tiebreak]))
        return [r for r in ordered if r[field] >= since]

    def list_enterprises(self, request: Request) -> Response:
        """Page number and size; `updatedAfter` keeps those updated at or after it."""
        q = request.query_params
        rows = self._since(self.enterprises, "updatedAt", q.get("updatedAfter", ""), "entNo")
        page, size = int(q.get("pageNo", "1")), min(int(q.get("pageSize", "20")), 100)
        chunk = rows[(page - 1) * size : page * size]
        return _ok({"total": len(rows), "pageNo": page, "list": chunk})

    def list_readings(self, request: Request) -> Response:
        """Ids after `sinceId`, or after the `cursor` of the page before; `nextCursor` is null
        on the last page."""
        q = request.query_params
        after = int(q.get("sinceId", "0") or 0)
        if q.get("cursor"):
            after = int(base64.urlsafe_b64decode(q["cursor"]).decode().removeprefix("id:"))
        limit = min(int(q.get("limit", "100")), 200)
        with self.lock:
            rows = [r for r in self.readings if r["id"] > after]
        chunk, cursor = rows[:limit], None
        if len(rows) > limit:
            cursor = base64.urlsafe_b64encode(f"id:{chunk[-1]['id']}".encode()).decode()
        return _ok({"list": chunk, "nextCursor": cursor})

    def list_alarms(self, request: Request) -> Response:
        """Offset and limit; `startTime` keeps alarms at or after it."""
        q = request.query_params
        rows = self._since(self.alarms, "alarmTime", q.get("startTime", ""), "alarmId")
        offset, limit = int(q.get("offset", "0")), min(int(q.get("limit", "20")), 100)
        return _ok({"total": len(rows), "list": rows[offset : offset + limit]})

    def list_devices(self, request: Request) -> Response:
        """A link to the next page, in the answer and in the Link header."""
        q = request.query_params
        page, size = int(q.get("page", "1")), min(int(q.get("size", "10")), 50)
        with self.lock:
            chunk, more = (
                self.devices[(page - 1) * size : page * size],
                page * size < len(self.devices),
            )
        link = f"{BASE}/devices?page={page + 1}&size={size}" if more else None
        headers = {"Link": f'<{link}>; rel="next"'} if link else None
        return _answer(
            {"code": 0, "msg": "ok", "data": {"items": chunk, "next": link}}, 200, headers
        )

    def list_monthly(self, request: Request) -> Response:
        """Every enterprise's figures of one month (`period=YYYYMM`), in 万元 and 万kWh."""
        month = request.query_params.get("period", "")
        if not month:
            return _code("error", "缺少参数 period")
        with self.lock:
            return _ok({"list": [m for m in self.monthly if m["month"] == month]})


def _enterprise(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "entNo": e["entId"],
        "name": e["entName"],
        "uscc": e["creditCode"],
        "industry": e["industryCode"],
        "scale": e["scaleType"],
        "area": e["rentArea"],
        "joinDate": e["enterTime"],
        "updatedAt": "2026-09-30 18:00:00",
    }


def _device(code: str, kind: str, ent: dict[str, Any]) -> dict[str, Any]:
    label = "电表" if kind == "electric_meter" else "水表"
    return {
        "code": code,
        "kind": kind,
        "name": f"{ent['name']} {label}",
        "location": f"{ent['entNo']} 配电间",
        "uscc": ent["uscc"],
    }
