"""China Telecom CTWing (AEP): subscription pushes and device-status history pulls."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import ipaddress
import struct
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal

import httpx
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    field_validator,
    model_validator,
)

from parkhub.adapters.common import AdapterConfig
from parkhub.adapters.vendors.base import (
    ParseResult,
    PushRequest,
    PushVerdict,
    RawBatch,
    RawMessage,
    SourceContext,
    VendorAdapter,
)
from parkhub.canonical import EventKind
from parkhub.canonical.jsonutil import JSONDecodeError, dumps, dumps_str, loads
from parkhub.canonical.timeutil import to_epoch_ms, utcnow
from parkhub.errors import InputError, SourceError
from parkhub.protocols.ctwing import signature
from parkhub.secrets import Secret

from .devicemap import DeviceMap, DeviceMapper, DeviceRef, MapSession, Severity

__all__ = [
    "AppDataCodec",
    "AppDataSpec",
    "CtwingAdapter",
    "CtwingConfig",
    "CtwingPullTarget",
    "json_appdata",
    "register_appdata_codec",
    "signature",
    "struct_appdata",
]

AppDataCodec = Callable[[bytes], Mapping[str, Any]]
"""Decodes a transparent (`APPdata`) payload into key → value, keys as in the device map."""

_CODECS: dict[str, AppDataCodec] = {}

HIS_PAGE_PATH = "/aep_device_status/getDeviceStatusHisInPage"
HIS_PAGE_VERSION = "20190928013337"

_EVENT_KINDS: dict[int, tuple[EventKind, Severity]] = {
    1: (EventKind.INFO, "info"),
    2: (EventKind.ALARM, "warning"),
    3: (EventKind.FAULT, "critical"),
}
# Fields of a history item that describe it rather than being reported values.
_ITEM_META = frozenset(
    {"timestamp", "deviceId", "productId", "tenantId", "IMEI", "imei", "IMSI", "imsi", "deviceSn"}
)


def register_appdata_codec(product_id: str, codec: AppDataCodec) -> None:
    """Decode the `APPdata` pass-through payloads of product `product_id` with `codec`.

    For example `register_appdata_codec("10053421", struct_appdata(">BBH", ["h1", "h2", "len"]))`.
    A source's `appdata:` config, when it names the product, takes precedence.
    """
    _CODECS[str(product_id)] = codec


def json_appdata(data: bytes) -> dict[str, Any]:
    """Codec for devices that send a JSON object as their pass-through payload."""
    value = loads(data)
    if not isinstance(value, dict):
        raise ValueError("APPdata JSON is not an object")
    return value


def struct_appdata(fmt: str, fields: Sequence[str], *, ascii_hex: bool = False) -> AppDataCodec:
    """Codec for fixed binary frames: `struct` format `fmt`, one key per unpacked field.

    `ascii_hex` first turns hex text (what many NB modules send) into bytes.

    >>> codec = struct_appdata(">BhB", ["Alarm_Status", "TData", "Battery_Level"])
    >>> codec(bytes.fromhex("02001e64"))
    {'Alarm_Status': 2, 'TData': 30, 'Battery_Level': 100}
    """
    layout = struct.Struct(fmt)
    names = list(fields)
    if len(layout.unpack(bytes(layout.size))) != len(names):
        raise ValueError(f"struct format {fmt!r} does not give {len(names)} fields")

    def decode(data: bytes) -> dict[str, Any]:
        raw = bytes.fromhex(data.decode("ascii").strip()) if ascii_hex else data
        return dict(zip(names, layout.unpack(raw[: layout.size]), strict=True))

    return decode


class AppDataSpec(BaseModel):
    """How a product's `APPdata` pass-through payload is decoded (set in YAML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    codec: Literal["json", "struct"]
    format: str | None = Field(None, description="struct format, e.g. >BhB (big-endian)")
    fields: list[str] = Field(default_factory=list, description="struct: key of each field")
    ascii_hex: bool = Field(False, description="struct: payload is hex text, not bytes")

    @model_validator(mode="after")
    def _check(self) -> AppDataSpec:
        if self.codec == "struct":
            if not self.format or not self.fields:
                raise ValueError("struct 解码需配置 format 与 fields (struct needs format, fields)")
            try:
                struct_appdata(self.format, self.fields)
            except (struct.error, ValueError) as exc:
                raise ValueError(f"struct format 无效 (bad struct format: {exc})") from None
        return self

    def codec_fn(self) -> AppDataCodec:
        if self.codec == "json":
            return json_appdata
        assert self.format is not None
        return struct_appdata(self.format, self.fields, ascii_hex=self.ascii_hex)


class CtwingPullTarget(BaseModel):
    """One device whose status history is pulled."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(min_length=1, description="CTWing deviceId")
    product_id: str | None = Field(None, description="overrides the source's product_id")


class CtwingConfig(AdapterConfig):
    """A CTWing application (AppKey) feeding one park."""

    push_token: Secret | None = Field(
        None, description="secret carried as ?token= in the subscription URL (required for push)"
    )
    allow_ips: list[IPvAnyNetwork] = Field(
        default_factory=list, description="if set, pushes only from these CIDRs"
    )
    api_base: str = Field("https://ag-api.ctwing.cn", description="AEP API gateway")
    app_key: str | None = Field(None, description="application AppKey")
    app_secret: Secret | None = Field(None, description="application AppSecret")
    product_id: str | None = None
    devices: list[CtwingPullTarget] = Field(
        default_factory=list, description="devices to pull (stream device_status)"
    )
    page_size: int = Field(100, ge=1, le=1000)
    pull_since: AwareDatetime | None = Field(None, description="first pull starts here")
    initial_lookback_h: float = Field(24, gt=0, description="else the first pull looks back")
    appdata: dict[str, AppDataSpec] = Field(
        default_factory=dict, description="APPdata decoder per productId"
    )
    device_map: DeviceMap = Field(default_factory=DeviceMap)

    @field_validator("api_base")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("应为 http(s):// 地址 (must be an http(s):// URL)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _pull_needs(self) -> CtwingConfig:
        if self.devices:
            missing = [n for n in ("app_key", "app_secret") if getattr(self, n) is None]
            if self.product_id is None and any(d.product_id is None for d in self.devices):
                missing.append("product_id")
            if missing:
                raise ValueError(f"拉取 device_status 缺少配置 (pull needs {', '.join(missing)})")
        return self


def _reject(status: int, reason: str) -> PushVerdict:
    return PushVerdict(
        accept=False,
        status_code=status,
        reason=reason,
        response_body=dumps({"code": status, "msg": reason}),
    )


def _sid(value: Any) -> str | None:
    """serviceId arrives as "", an int or a string."""
    if value is None or value == "":
        return None
    return str(value)


class CtwingAdapter(VendorAdapter[CtwingConfig]):
    """CTWing subscription pushes and device-status history.

    Subscription URL: `https://<host>/push/ctwing/<source>?token=<push_token>`. CTWing does
    not sign pushes, so the secret token in the URL (and optionally the source IP) is what
    authenticates them.
    """

    name: ClassVar[str] = "ctwing"
    config_model: ClassVar[type[BaseModel]] = CtwingConfig
    capabilities: ClassVar[frozenset[str]] = frozenset({"push", "pull"})
    streams: ClassVar[tuple[str, ...]] = ("device_status",)

    def __init__(
        self,
        source: SourceContext,
        config: CtwingConfig,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        super().__init__(source, config, http=http)
        self._clock = clock
        self._mapper = DeviceMapper(source.name, "ctwing", config.device_map, self.build)
        self._push_token = (
            config.push_token.get_secret_value().encode() if config.push_token else None
        )
        self._codecs = {pid: spec.codec_fn() for pid, spec in config.appdata.items()}
        self._last: tuple[bytes, dict[str, Any]] | None = None

    # -- push -------------------------------------------------------------------------------

    def verify_push(self, request: PushRequest) -> PushVerdict:
        """Check the URL token (constant time) and the source IP, then that the body is JSON."""
        src = self.source.name
        if request.method.upper() != "POST":
            return _reject(405, f"[{src}] 仅接受 POST (only POST is accepted)")
        if self._push_token is None:
            return _reject(403, f"[{src}] 本数据源未配置 push_token (no push_token is configured)")
        given = request.query.get("token")
        if not given:
            return _reject(401, f"[{src}] 推送地址缺少 token 参数 (push URL carries no ?token=)")
        if not hmac.compare_digest(given.encode(), self._push_token):
            return _reject(403, f"[{src}] 推送 token 不符 (push token does not match)")
        if self.config.allow_ips and not self._ip_allowed(request.client_ip):
            return _reject(
                403,
                f"[{src}] 来源 IP {request.client_ip} 不在 allow_ips 中 "
                f"(source IP {request.client_ip} is not in allow_ips)",
            )
        try:
            doc = loads(request.body)
        except JSONDecodeError as exc:
            return _reject(400, f"[{src}] 推送正文不是合法 JSON (push body is not JSON: {exc})")
        if not isinstance(doc, dict) or not isinstance(doc.get("messageType"), str):
            return _reject(
                400,
                f"[{src}] 推送正文缺少 messageType (push body must be an object with messageType)",
            )
        self._last = (request.body, doc)
        return PushVerdict(accept=True)

    def _ip_allowed(self, client_ip: str | None) -> bool:
        if not client_ip:
            return False
        try:
            ip = ipaddress.ip_address(client_ip)
        except ValueError:
            return False
        return any(ip in net for net in self.config.allow_ips)

    # -- parse ------------------------------------------------------------------------------

    def parse(self, raw: RawMessage, result: ParseResult) -> None:
        if raw.stream == "push":
            last = self._last
            if last is not None and (last[0] is raw.body or last[0] == raw.body):
                doc = last[1]
            else:
                doc = loads(raw.body)
                if not isinstance(doc, dict):
                    raise InputError(
                        self.source.name, "push#raw", None, "应为 JSON 对象 (not an object)"
                    )
            self._push_message(self._mapper.session(result), doc)
        elif raw.stream == "device_status":
            self._parse_page(raw, result)
        else:
            raise InputError(
                self.source.name, f"{raw.stream}#raw", None, "未知的数据流 (unknown stream)"
            )

    def _push_message(self, session: MapSession, msg: dict[str, Any]) -> None:
        mtype = msg.get("messageType")
        ts = msg.get("timestamp")
        ref = f"push#{msg.get('deviceId')}@{ts}"
        if mtype == "commandResponse":  # command result: kept in the raw inbox, no record
            return
        if mtype not in ("dataReport", "deviceOnlineOfflineReport", "eventReport"):
            session.warn(
                ref, "messageType", f"未处理的消息类型 (messageType {mtype!r} not handled)"
            )
            return
        if not isinstance(ts, int) or isinstance(ts, bool):
            session.error(ref, "timestamp", f"缺少时间戳 (missing or bad timestamp: {ts!r})")
            return
        dev = session.device(ref, msg.get("deviceId"), msg.get("IMEI"))
        if dev is None:
            return
        if mtype == "dataReport":
            payload = msg.get("payload")
            if not isinstance(payload, dict):
                session.error(ref, "payload", "payload 应为对象 (payload must be an object)")
                return
            self._values(session, dev, payload, str(msg.get("productId", "")), ts, ref)
        elif mtype == "deviceOnlineOfflineReport":
            online = msg.get("eventType")
            if online not in (0, 1):
                session.error(ref, "eventType", f"上下线类型应为 0/1 (eventType: {online!r})")
                return
            session.event(
                dev,
                EventKind.DEVICE_ONLINE if online == 1 else EventKind.DEVICE_OFFLINE,
                "status",
                ts,
                ref,
                severity="info" if online == 1 else "warning",
                status="closed" if online == 1 else "open",
                title="设备上线 (device online)" if online == 1 else "设备离线 (device offline)",
                extra={"iccid": msg["iccid"]} if msg.get("iccid") else None,
            )
        else:
            self._event_report(session, dev, msg, ts, ref)

    def _event_report(
        self, session: MapSession, dev: DeviceRef, msg: dict[str, Any], ts: int, ref: str
    ) -> None:
        etype = msg.get("eventType")
        if etype not in _EVENT_KINDS:
            session.error(ref, "eventType", f"事件类型应为 1/2/3 (eventType: {etype!r})")
            return
        kind, severity = _EVENT_KINDS[etype]
        service = _sid(msg.get("serviceId")) or "event"
        km = self._mapper.key_map(dev.entry, service)
        if km is not None and km.event is not None:
            kind = km.event
        content = msg.get("eventContent")
        session.event(
            dev,
            kind,
            service,
            ts,
            ref,
            severity=severity,
            title=(km.title if km else None) or service,
            detail=dumps_str(content) if content is not None else None,
            extra={"event_type": etype, "content": content},
        )

    def _values(
        self,
        session: MapSession,
        dev: DeviceRef,
        payload: Mapping[str, Any],
        product_id: str,
        ts: int,
        ref: str,
    ) -> None:
        if "APPdata" in payload:
            data = self._appdata(session, dev, payload["APPdata"], product_id, ts, ref)
            if data is None:
                return
        elif isinstance(payload.get("serviceData"), dict):
            data = payload["serviceData"]
        else:
            data = {k: v for k, v in payload.items() if k != "serviceId"}
        for key, value in data.items():
            session.value(dev, key, value, ts, ref)

    def _appdata(
        self,
        session: MapSession,
        dev: DeviceRef,
        encoded: Any,
        product_id: str,
        ts: int,
        ref: str,
    ) -> Mapping[str, Any] | None:
        codec = self._codecs.get(product_id) or _CODECS.get(product_id)
        if codec is None:
            session.keep(
                dev,
                "APPdata",
                encoded,
                ts,
                ref,
                f"产品 {product_id} 未配置 APPdata 解码器 (no APPdata codec for product "
                f"{product_id!r}: set appdata in the source config)",
            )
            return None
        try:
            data = codec(base64.b64decode(str(encoded), validate=True))
        except (binascii.Error, ValueError, struct.error, UnicodeDecodeError) as exc:
            session.error(ref, "APPdata", f"APPdata 无法解码 (APPdata cannot be decoded: {exc})")
            return None
        return data

    def _parse_page(self, raw: RawMessage, result: ParseResult) -> None:
        page = loads(raw.body)
        session = self._mapper.session(result)
        ref = f"device_status#{page['device']}"
        dev = session.device(ref, page["device"])
        if dev is None:
            return
        product_id = str(page.get("product_id") or "")
        for item in page["items"]:
            ts = item.get("timestamp") if isinstance(item, dict) else None
            try:
                ts_ms = int(ts)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                session.error(ref, "timestamp", f"时间无法识别 (bad item timestamp: {item!r})")
                continue
            item_ref = f"{ref}@{ts_ms}"
            if "datasetId" in item:  # {datasetId, value, timestamp} items
                session.value(dev, str(item["datasetId"]), item.get("value"), ts_ms, item_ref)
                continue
            values = {k: v for k, v in item.items() if k not in _ITEM_META}
            self._values(session, dev, values, product_id, ts_ms, item_ref)

    # -- pull -------------------------------------------------------------------------------

    def pull(self, stream: str, cursor: str | None) -> Iterator[RawBatch]:
        """Pull device status history after `cursor`.

        CTWing pages from the newest record back (`page_timestamp`). The cursor is JSON
        `{"<deviceId>": {"w": ms}}` once a window is done (everything up to `w` is in), or
        `{"w": ms, "e": ms, "p": page_timestamp}` while window (w, e] is being paged: a resumed
        pull continues that window from vendor position `p`, then starts the next at e + 1 ms.
        """
        if stream != "device_status":
            raise SourceError(f"[{self.source.name}] 未知的数据流 (unknown stream {stream!r})")
        if not self.config.devices:
            return
        state = self._load_cursor(cursor)
        offset = self._time_offset()
        server_now = to_epoch_ms(self._clock()) + offset
        since = self.config.pull_since or (
            self._clock() - dt.timedelta(hours=self.config.initial_lookback_h)
        )
        for target in self.config.devices:
            product_id = target.product_id or self.config.product_id or ""
            st = state.get(target.device_id) or {"w": to_epoch_ms(since) - 1}
            w = int(st["w"])
            end = int(st.get("e") or server_now)
            page_ts: str | None = st.get("p")
            if end <= w:
                continue
            while True:
                body: dict[str, Any] = {
                    "productId": product_id,
                    "deviceId": target.device_id,
                    "begin_timestamp": str(w + 1),
                    "end_timestamp": str(end),
                    "page_size": self.config.page_size,
                }
                if page_ts:
                    body["page_timestamp"] = page_ts
                doc = self._post(HIS_PAGE_PATH, HIS_PAGE_VERSION, body, offset, target.device_id)
                items = doc.get("deviceStatusList") or []
                nxt = doc.get("page_timestamp") or None
                done = not nxt or not items or nxt == page_ts
                state[target.device_id] = {"w": end} if done else {"w": w, "e": end, "p": nxt}
                if items:
                    envelope = {
                        "api": stream,
                        "device": target.device_id,
                        "product_id": product_id,
                        "request": body,
                        "items": items,
                    }
                    yield RawBatch(
                        RawMessage(
                            self.source.name,
                            stream,
                            dumps(envelope),
                            meta={"device": target.device_id},
                        ),
                        dumps_str(state),
                    )
                if done:
                    break
                page_ts = str(nxt)

    def check(self) -> None:
        """Read the gateway clock and query one record of the first configured device."""
        offset = self._time_offset()
        if self.config.devices:
            target = self.config.devices[0]
            end = to_epoch_ms(self._clock()) + offset
            body = {
                "productId": target.product_id or self.config.product_id or "",
                "deviceId": target.device_id,
                "begin_timestamp": str(end - 3_600_000),
                "end_timestamp": str(end),
                "page_size": 1,
            }
            self._post(HIS_PAGE_PATH, HIS_PAGE_VERSION, body, offset, target.device_id)

    def _load_cursor(self, cursor: str | None) -> dict[str, dict[str, Any]]:
        if not cursor:
            return {}
        try:
            state = loads(cursor)
        except JSONDecodeError:
            state = None
        if not isinstance(state, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("w"), int) for v in state.values()
        ):
            raise SourceError(
                f"[{self.source.name}] device_status 的游标无法识别，请清除后重拉 (the saved "
                "cursor of stream device_status is not valid: reset it to pull again)"
            )
        return state

    def _time_offset(self) -> int:
        """Server time minus ours in ms, from the gateway's `x-ag-timestamp` echo header."""
        url = f"{self.config.api_base}/echo"
        start = time.monotonic()
        try:
            response = self.http.get(url)
        except httpx.HTTPError as exc:
            raise SourceError(
                f"[{self.source.name}] CTWing 网关无法访问 (cannot reach {url}: {exc})"
            ) from exc
        end = time.monotonic()
        header = response.headers.get("x-ag-timestamp")
        if header is None or not header.isdigit():
            raise SourceError(
                f"[{self.source.name}] CTWing /echo 未返回 x-ag-timestamp "
                f"(no x-ag-timestamp header from {url}, HTTP {response.status_code})"
            )
        local = to_epoch_ms(self._clock()) - int((end - start) * 500)  # the round trip's middle
        return int(header) - local

    def _post(
        self, path: str, version: str, body: dict[str, Any], offset: int, device: str
    ) -> dict[str, Any]:
        assert self.config.app_key is not None and self.config.app_secret is not None
        content = dumps(body)
        ts = to_epoch_ms(self._clock()) + offset
        headers = {
            "application": self.config.app_key,
            "timestamp": str(ts),
            "version": version,
            "signature": signature(
                self.config.app_key,
                self.config.app_secret.get_secret_value(),
                ts,
                {},
                content,
            ),
            "Content-Type": "application/json; charset=UTF-8",
        }
        url = f"{self.config.api_base}{path}"
        try:
            response = self.http.post(url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise SourceError(
                f"[{self.source.name}] CTWing 接口无法访问 (cannot reach {url}: {exc})"
            ) from exc
        try:
            doc = loads(response.content)
        except JSONDecodeError:
            doc = None
        if response.status_code >= 400 or not isinstance(doc, dict) or doc.get("code") != 0:
            detail = (
                f"code {doc.get('code')!r} {doc.get('msg') or doc.get('desc')!r}"
                if isinstance(doc, dict)
                else response.text[:200]
            )
            hint = (
                "; 请检查 app_key/app_secret 与服务器时间 (check app_key/app_secret and clocks)"
                if response.status_code in (401, 403)
                else ""
            )
            raise SourceError(
                f"[{self.source.name}] CTWing 查询设备 {device} 历史失败 (history query for "
                f"device {device} failed: HTTP {response.status_code}, {detail}){hint}"
            )
        return doc
