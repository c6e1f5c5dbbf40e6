"""Qisheng smart-park platform (启盛智慧园区), REST API as modelled in docs/vendors/qisheng.md.

No public spec exists: every wire detail of the modelled contract lives in this module, so a
real spec replaces it here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import chain, count, repeat
from typing import Any, ClassVar

import httpx
from pydantic import Field

from parkhub.adapters.common import AdapterConfig
from parkhub.adapters.vendors.base import (
    Parsed,
    RawBatch,
    RawMessage,
    VendorAdapter,
    json_object,
)
from parkhub.canonical import (
    Enterprise,
    EnterpriseMonthly,
    Event,
    EventKind,
    Measurement,
    Period,
    jsonutil,
    units,
)
from parkhub.canonical.timeutil import parse_local, previous_period, utcnow
from parkhub.canonical.units import exact_limit
from parkhub.errors import InputError, SourceError
from parkhub.secrets import Secret


class QishengConfig(AdapterConfig):
    base_url: str = Field(description="API root, e.g. https://park.example.com (sandbox: loopback)")
    app_id: str = Field(min_length=1)
    app_secret: Secret = Field(description="env:NAME or file:NAME")
    page_size: int = Field(100, ge=1, le=200)
    reading_batch: int = Field(500, ge=1, le=1000)
    monthly_lookback: int = Field(2, ge=1, le=24, description="months re-read for corrections")
    timeout_seconds: float = Field(15.0, gt=0)


# Vendor field -> canonical field, so an error names the field the operator sees in Qisheng.
ENTERPRISE_FIELDS = {
    "credit_code": "creditCode",
    "name": "entName",
    "industry_code": "industryCode",
    "floor_area_m2": "rentArea",
    "entered_on": "enterTime",
    "above_scale": "scaleType",
}
MONTHLY_FIELDS = {
    "credit_code": "creditCode",
    "output_value_yuan": "outputValue",
    "revenue_yuan": "revenue",
    "tax_yuan": "tax",
    "employees": "employees",
    "electricity_kwh": "electricity",
    "period": "period",
}
ALARM_KINDS = {
    "fire": EventKind.FIRE_ALARM,
    "smoke": EventKind.FIRE_ALARM,
    "gas": EventKind.ALARM,
    "fault": EventKind.FIRE_FAULT,
    "offline": EventKind.DEVICE_OFFLINE,
    "danger": EventKind.HIDDEN_DANGER,
    "accident": EventKind.INCIDENT,
}
METER_METRICS = {"electric": "electricity", "water": "water", "gas": "gas"}
READING_FIELDS = {
    "value": "value",
    "ts": "readTime",
    "device_id": "meterNo",
    "unit": "unit",
    "credit_code": "entCreditCode",
}
_DAY, _INSTANT = Period.DAY, Period.INSTANT
WAN = units.factor("万元", "yuan")
WAN_KWH = units.factor("万千瓦时", "kWh")


class QishengAdapter(VendorAdapter[QishengConfig]):
    """Pulls the enterprise roster, monthly operating data, meter readings and alarms."""

    name: ClassVar[str] = "qisheng"
    config_model: ClassVar[type[QishengConfig]] = QishengConfig
    capabilities: ClassVar[frozenset[str]] = frozenset({"pull"})
    streams: ClassVar[tuple[str, ...]] = ("enterprises", "monthly", "readings", "alarms")

    _token: str | None = None

    # -- transport --------------------------------------------------------------------------

    def _login(self) -> str:
        body = {"appId": self.config.app_id, "appSecret": self.config.app_secret.get_secret_value()}
        answer = self._call("POST", "/api/auth/login", json=body, authed=False)
        token = (answer.get("data") or {}).get("accessToken")
        if not token:
            raise SourceError(f"[{self.source.name}] 登录失败 (login answered without a token)")
        self._token = str(token)
        return self._token

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        authed: bool = True,
    ) -> dict[str, Any]:
        url = self.config.base_url.rstrip("/") + path
        for attempt in (1, 2):
            headers = {}
            if authed:
                headers["Authorization"] = f"Bearer {self._token or self._login()}"
            try:
                resp = self.http.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=headers,
                    timeout=self.config.timeout_seconds,
                )
            except httpx.HTTPError as exc:
                raise SourceError(
                    f"[{self.source.name}] 无法连接启盛平台 (cannot reach Qisheng: {exc})"
                ) from None
            if resp.status_code == 401 and authed and attempt == 1:
                self._token = None  # expired: log in again once
                continue
            try:
                answer: dict[str, Any] = jsonutil.loads(resp.content)
            except jsonutil.JSONDecodeError:
                answer = {}
            if resp.status_code != 200 or answer.get("code") != 0:
                raise SourceError(
                    f"[{self.source.name}] {path}: HTTP {resp.status_code} "
                    f"code={answer.get('code')} {answer.get('msg', resp.text[:200])}"
                )
            return answer
        raise SourceError(f"[{self.source.name}] 认证失败 (authentication failed twice)")

    def check(self) -> None:
        self._login()

    # -- pull -------------------------------------------------------------------------------

    def pull(self, stream: str, cursor: str | None) -> Iterator[RawBatch]:
        if stream == "enterprises":
            yield from self._pull_enterprises(cursor)
        elif stream == "monthly":
            yield from self._pull_monthly(cursor)
        elif stream in ("readings", "alarms"):
            yield from self._pull_after_id(stream, cursor)
        else:
            raise SourceError(f"[{self.source.name}] unknown stream {stream!r}")

    def _raw(self, stream: str, answer: dict[str, Any], **meta: Any) -> RawMessage:
        return RawMessage(self.source.name, stream, jsonutil.dumps(answer), meta=meta)

    def _pull_enterprises(self, cursor: str | None) -> Iterator[RawBatch]:
        # updatedSince is inclusive: a page seen again after a crash re-stores nothing new.
        page, newest = 1, cursor
        while True:
            params: dict[str, Any] = {"pageNo": page, "pageSize": self.config.page_size}
            if cursor:
                params["updatedSince"] = cursor
            answer = self._call("GET", "/api/v2/park/enterprises", params=params)
            data = answer["data"]
            rows = data.get("records") or []
            for row in rows:
                if newest is None or str(row.get("updateTime", "")) > newest:
                    newest = str(row.get("updateTime"))
            last = page * int(data.get("pageSize", self.config.page_size)) >= int(data["total"])
            yield RawBatch(self._raw("enterprises", answer), newest if last else cursor)
            if last or not rows:
                return
            page += 1

    def _pull_monthly(self, cursor: str | None) -> Iterator[RawBatch]:
        # Re-read the last months each time: a vendor-side correction becomes a new revision.
        end = previous_period(utcnow())
        periods = _periods_back(end, self.config.monthly_lookback)
        for period in periods:
            page = 1
            while True:
                answer = self._call(
                    "GET",
                    "/api/v2/enterprise/monthly-reports",
                    params={"period": period, "pageNo": page, "pageSize": self.config.page_size},
                )
                data = answer["data"]
                done = page * int(data.get("pageSize", self.config.page_size)) >= int(data["total"])
                yield RawBatch(
                    self._raw("monthly", answer, period=period), period if done else cursor
                )
                if done:
                    break
                page += 1

    def _pull_after_id(self, stream: str, cursor: str | None) -> Iterator[RawBatch]:
        path = {"readings": "/api/v2/energy/meter-readings", "alarms": "/api/v2/safety/alarms"}
        start = int(cursor or 0)
        while True:
            answer = self._call(
                "GET", path[stream], params={"startId": start, "limit": self.config.reading_batch}
            )
            data = answer["data"]
            rows = data.get("records") or []
            if not rows:
                return
            start = int(data.get("lastId") or rows[-1]["id"])
            yield RawBatch(self._raw(stream, answer), str(start))
            if not data.get("hasMore"):
                return

    # -- parse ------------------------------------------------------------------------------

    def parse(self, raw: RawMessage) -> Iterable[Parsed]:
        data = json_object(self.source.name, raw).get("data")
        rows = data.get("records") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise InputError(
                self.source.name,
                f"{raw.stream}#page",
                "data.records",
                "缺少记录列表 (no records list in the page)",
            )
        parse_row = {
            "enterprises": self._enterprise,
            "monthly": self._monthly,
            "readings": self._reading,
            "alarms": self._alarm,
        }.get(raw.stream)
        if parse_row is None:
            raise InputError(self.source.name, raw.stream, None, "unknown stream")
        if not all(map(isinstance, rows, repeat(dict))):  # in C: ~20 ns a row
            return self._mixed(raw.stream, rows, parse_row)
        # chained in C, not a generator: readings are the ingest hot path
        return chain.from_iterable(map(parse_row, rows, count()))

    def _mixed(
        self, stream: str, rows: list[Any], parse_row: Callable[[Any, int], list[Parsed]]
    ) -> Iterator[Parsed]:
        """A page with rows that are not objects: an error for each of those."""
        for index, row in enumerate(rows):
            if isinstance(row, dict):
                yield from parse_row(row, index)
            else:
                reason = f"记录应为对象 (a record must be an object, got {row!r:.80})"
                yield InputError(self.source.name, f"{stream}#{index}", None, reason)

    def _enterprise(self, row: dict[str, Any], index: int) -> list[Parsed]:
        ref = f"enterprises#{row.get('entId', index)}"
        scale = row.get("scaleType")
        data = {
            "credit_code": row.get("creditCode"),
            "name": row.get("entName"),
            "industry_code": row.get("industryCode") or None,
            "above_scale": scale == "规上" if scale in ("规上", "规下") else scale,
            "floor_area_m2": row.get("rentArea"),
            "entered_on": row.get("enterTime") or None,
            "status": "active" if row.get("status", 1) in (1, "1") else "left",
            "contact": row.get("contact"),
            "source_id": row.get("entId"),
        }
        return self.build(Enterprise, ref, data, field_names=ENTERPRISE_FIELDS)

    def _monthly(self, row: dict[str, Any], index: int) -> list[Parsed]:
        ref = f"monthly#{row.get('creditCode', index)}@{row.get('period')}"
        data: dict[str, Any] = {
            "credit_code": row.get("creditCode"),
            "period": row.get("period"),
            "employees": row.get("employees"),
        }
        for canon, vendor, factor in (
            ("output_value_yuan", "outputValue", WAN),
            ("revenue_yuan", "revenue", WAN),
            ("tax_yuan", "tax", WAN),
            ("electricity_kwh", "electricity", WAN_KWH),
        ):
            value = row.get(vendor)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                reason = f"应为数字 (must be a number, got {value!r})"
                return [InputError(self.source.name, ref, vendor, reason)]
            data[canon] = round(float(value) * factor, 2)
            if not abs(data[canon]) < exact_limit(2):  # would not be delivered as sent
                reason = f"数值过大 (too large to keep exactly: {value!r})"
                return [InputError(self.source.name, ref, vendor, reason)]
        return self.build(EnterpriseMonthly, ref, data, field_names=MONTHLY_FIELDS)

    def _reading(self, row: dict[str, Any], index: int) -> list[Parsed]:
        # The hot path of ingest (pages of up to 1000 readings): no work that a valid row
        # does not need (its reference is made only for an error), constants hoisted.
        get = row.get
        try:
            ts = parse_local(str(row["readTime"]), "%Y-%m-%d %H:%M:%S")
        except (KeyError, ValueError):
            return self._bad_time(f"readings#{get('id', index)}", "readTime", get("readTime"))
        meter = get("meterNo")
        if meter is None or meter == "":
            ref = f"readings#{get('id', index)}"
            return [InputError(self.source.name, ref, "meterNo", "缺少表号 (no meter number)")]
        meter_type = str(get("meterType", "electric"))
        return self.build(
            Measurement,
            lambda: f"readings#{get('id', index)}",
            {
                "park_id": self.source.park_id,
                "device_id": f"{self.source.name}:{meter}",
                "metric": METER_METRICS.get(meter_type) or f"qisheng:{meter_type}",
                "ts": ts,
                "period": _DAY if get("periodType") == "day" else _INSTANT,
                "value": get("value"),
                "unit": get("unit"),
                "credit_code": get("entCreditCode"),
                "stat": "cou",
            },
            field_names=READING_FIELDS,
        )

    def _alarm(self, row: dict[str, Any], index: int) -> list[Parsed]:
        ref = f"alarms#{row.get('alarmId', index)}"
        kind = ALARM_KINDS.get(str(row.get("alarmType")), EventKind.ALARM)
        try:
            ts = parse_local(str(row["alarmTime"]), "%Y-%m-%d %H:%M:%S")
        except (KeyError, ValueError):
            return self._bad_time(ref, "alarmTime", row.get("alarmTime"))
        try:
            level = int(row.get("level") or 1)
        except (TypeError, ValueError):
            reason = f"告警级别应为整数 (level must be an integer, got {row.get('level')!r:.80})"
            return [InputError(self.source.name, ref, "level", reason)]
        data = {
            "event_id": f"{self.source.name}:{row.get('alarmId')}",
            "event_kind": kind,
            "ts": ts,
            "device_id": f"{self.source.name}:{row.get('deviceNo')}",
            "severity": "critical" if level >= 3 else "warning" if level == 2 else "info",
            "status": "closed" if row.get("status") == "已处理" else "open",
            "title": row.get("content"),
            "location": row.get("location"),
        }
        return self.build(Event, ref, data, field_names={"event_id": "alarmId"})

    def _bad_time(self, ref: str, field: str, value: Any) -> list[Parsed]:
        return [InputError(self.source.name, ref, field, f"时间格式错误 (bad time {value!r})")]


def _periods_back(end: str, count: int) -> list[str]:
    year, month = (int(p) for p in end.split("-"))
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(out))
