"""Loopback simulator of the Qisheng smart-park API (modelled: docs/vendors/qisheng.md)."""

from __future__ import annotations

import datetime as dt
import random
import secrets
import threading
import time
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .data import enterprises


def _json(obj: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status_code=status, media_type="application/json")


class QishengSim:
    """State of the simulated platform; tests change it directly (same process) or over HTTP."""

    def __init__(
        self,
        *,
        app_id: str = "demo-app",
        app_secret: str = "demo-secret",
        division: str = "330302",
        enterprise_count: int = 12,
        period: str = "2026-10",
        bad_monthly_row: bool = True,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.lock = threading.Lock()
        self.tokens: set[str] = set()
        self.enterprises = enterprises(division, enterprise_count)
        self.readings: list[dict[str, Any]] = []
        self.alarms: list[dict[str, Any]] = []
        self.monthly: list[dict[str, Any]] = []
        self.requests = 0
        self.fail_next = 0
        self.pulls: list[float] = []  # when each sync began (the roster's first page asked)
        self._seed(period, bad_monthly_row)
        self.app = Starlette(
            routes=[
                Route("/api/auth/login", self.login, methods=["POST"]),
                Route("/_sandbox/state", self.state),
                Route("/api/v2/park/enterprises", self.list_enterprises),
                Route("/api/v2/energy/meter-readings", self.list_readings),
                Route("/api/v2/safety/alarms", self.list_alarms),
                Route("/api/v2/enterprise/monthly-reports", self.list_monthly),
            ]
        )

    def _seed(self, period: str, bad_row: bool) -> None:
        rng = random.Random(7)
        year, month = (int(p) for p in period.split("-"))
        start = dt.date(year, month, 1)
        days = ((start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - start).days
        for ent in self.enterprises:
            self.add_monthly(ent, period, rng)
            prev = f"{year - (month == 1)}-{(month - 2) % 12 + 1:02d}"
            self.add_monthly(ent, prev, rng)
            for d in range(days):
                self.add_reading(
                    meter=f"DB-{ent['entId']}",
                    credit=str(ent["creditCode"]),
                    read_time=f"{start + dt.timedelta(days=d)} 00:00:00",
                    value=round(rng.uniform(200, 3000), 2),
                )
        self.add_alarm("smoke", 3, "SD-0301", "3号楼2层东侧", f"{period}-05 14:22:10", "已处理")
        self.add_alarm("fault", 1, "FP-0102", "1号楼消防泵房", f"{period}-12 09:01:44", "未处理")
        self.add_alarm(
            "danger", 2, "XJ-0007", "2号楼安全通道堆放杂物", f"{period}-18 10:30:00", "未处理"
        )
        if bad_row and len(self.monthly) > 2:
            # A vendor data-entry slip: the operator typed text into a number field.
            self.monthly[2]["revenue"] = "约300"

    def add_monthly(self, ent: dict[str, Any], period: str, rng: random.Random) -> None:
        above = ent["scaleType"] == "规上"
        scale = 8 if above else 1
        self.monthly.append(
            {
                "creditCode": ent["creditCode"],
                "entName": ent["entName"],
                "period": period,
                "outputValue": round(rng.uniform(80, 400) * scale, 2),  # 万元, as Qisheng sends
                "revenue": round(rng.uniform(90, 420) * scale, 2),
                "tax": round(rng.uniform(3, 30) * scale, 2),
                "employees": rng.randint(15, 60) * scale,
                "electricity": round(rng.uniform(2, 15) * scale, 3),  # 万kWh
            }
        )

    def add_reading(
        self,
        *,
        meter: str,
        credit: str | None,
        read_time: str,
        value: float,
        meter_type: str = "electric",
        unit: str = "kWh",
    ) -> None:
        with self.lock:
            self.readings.append(
                {
                    "id": len(self.readings) + 1,
                    "meterNo": meter,
                    "meterType": meter_type,
                    "entCreditCode": credit,
                    "readTime": read_time,
                    "value": value,
                    "unit": unit,
                    "periodType": "day",
                }
            )

    def add_alarm(
        self, kind: str, level: int, device: str, location: str, at: str, status: str
    ) -> None:
        with self.lock:
            self.alarms.append(
                {
                    "id": len(self.alarms) + 1,
                    "alarmId": f"AL{len(self.alarms) + 1:06d}",
                    "alarmType": kind,
                    "level": level,
                    "deviceNo": device,
                    "location": location,
                    "alarmTime": at,
                    "status": status,
                    "content": f"{location} {kind} 报警",
                }
            )

    # -- HTTP -------------------------------------------------------------------------------

    def _auth(self, request: Request) -> Response | None:
        self.requests += 1
        if self.fail_next > 0:
            self.fail_next -= 1
            return _json({"code": 50000, "msg": "服务繁忙"}, 503)
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self.tokens:
            return _json({"code": 40101, "msg": "token 无效或已过期"}, 401)
        return None

    async def login(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        if body.get("appId") != self.app_id or body.get("appSecret") != self.app_secret:
            return _json({"code": 40100, "msg": "appId 或 appSecret 错误"}, 401)
        token = secrets.token_hex(16)
        self.tokens.add(token)
        return _json(
            {"code": 0, "msg": "success", "data": {"accessToken": token, "expiresIn": 7200}}
        )

    def expire_tokens(self) -> None:
        self.tokens.clear()

    @staticmethod
    def _page(request: Request, rows: list[dict[str, Any]]) -> dict[str, Any]:
        page_no = int(request.query_params.get("pageNo", "1"))
        size = min(int(request.query_params.get("pageSize", "50")), 200)
        chunk = rows[(page_no - 1) * size : page_no * size]
        return {"total": len(rows), "pageNo": page_no, "pageSize": size, "records": chunk}

    async def state(self, request: Request) -> Response:
        with self.lock:
            return _json({"requests": self.requests, "pulls": list(self.pulls)})

    async def list_enterprises(self, request: Request) -> Response:
        if (denied := self._auth(request)) is not None:
            return denied
        if request.query_params.get("pageNo", "1") == "1":
            with self.lock:
                self.pulls.append(time.time())
        since = request.query_params.get("updatedSince")
        rows = sorted(self.enterprises, key=lambda e: (e["updateTime"], e["entId"]))
        if since:
            rows = [e for e in rows if str(e["updateTime"]) >= since]
        return _json({"code": 0, "msg": "success", "data": self._page(request, rows)})

    def _after_id(self, request: Request, rows: list[dict[str, Any]]) -> dict[str, Any]:
        start = int(request.query_params.get("startId", "0"))
        limit = min(int(request.query_params.get("limit", "500")), 1000)
        with self.lock:
            chunk = [r for r in rows if r["id"] > start][:limit]
            more = any(r["id"] > (chunk[-1]["id"] if chunk else start) for r in rows)
        return {"records": chunk, "hasMore": more, "lastId": chunk[-1]["id"] if chunk else start}

    async def list_readings(self, request: Request) -> Response:
        if (denied := self._auth(request)) is not None:
            return denied
        return _json({"code": 0, "msg": "success", "data": self._after_id(request, self.readings)})

    async def list_alarms(self, request: Request) -> Response:
        if (denied := self._auth(request)) is not None:
            return denied
        return _json({"code": 0, "msg": "success", "data": self._after_id(request, self.alarms)})

    async def list_monthly(self, request: Request) -> Response:
        if (denied := self._auth(request)) is not None:
            return denied
        period = request.query_params.get("period")
        if not period:
            return _json({"code": 40001, "msg": "缺少参数 period"}, 400)
        rows = [m for m in self.monthly if m["period"] == period]
        return _json({"code": 0, "msg": "success", "data": self._page(request, rows)})
