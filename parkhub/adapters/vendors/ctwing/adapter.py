"""The CTWing adapter: subscription pushes (data, online/offline, events) and pulled
device-status history into canonical records through the device map."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import ipaddress
import struct
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

from parkhub.adapters.vendors.base import (
    Parsed,
    PushRequest,
    PushVerdict,
    RawMessage,
    SourceContext,
    json_object,
)
from parkhub.adapters.vendors.devicemap import DeviceRef, MapSession, Severity
from parkhub.adapters.vendors.iot import refuse
from parkhub.canonical import EventKind
from parkhub.canonical.jsonutil import JSONDecodeError, dumps_str, loads
from parkhub.canonical.timeutil import utcnow

from .appdata import registered_codec
from .config import CtwingConfig
from .pull import CtwingPulls

_EVENT_KINDS: dict[int, tuple[EventKind, Severity]] = {
    1: (EventKind.INFO, "info"),
    2: (EventKind.ALARM, "warning"),
    3: (EventKind.FAULT, "critical"),
}
# Fields of a history item that describe it rather than being reported values.
_ITEM_META = frozenset(
    {"timestamp", "deviceId", "productId", "tenantId", "IMEI", "imei", "IMSI", "imsi", "deviceSn"}
)
SAMPLE_TIME_KEY = "time"
"""A reported payload's `time` (epoch ms, or s) is when the values were sampled, not a value."""
_EPOCH_MS = range(10**12, 10**13)  # 2001-09-09 .. 2286-11-20
_EPOCH_S = range(10**9, 10**10)


def _sid(value: Any) -> str | None:
    """serviceId arrives as "", an int or a string."""
    if value is None or value == "":
        return None
    return str(value)


class CtwingAdapter(CtwingPulls):
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
        super().__init__(source, config, http=http, clock=clock)
        self._push_token = (
            config.push_token.get_secret_value().encode() if config.push_token else None
        )
        self._codecs = {pid: spec.codec_fn() for pid, spec in config.appdata.items()}

    # -- push -------------------------------------------------------------------------------

    def verify_push(self, request: PushRequest) -> PushVerdict:
        """Check the URL token (constant time) and the source IP, then that the body is a
        JSON object with a messageType (handed on as the verdict's `decoded`)."""
        src = self.source.name
        if request.method.upper() != "POST":
            return refuse(405, f"[{src}] 仅接受 POST (only POST is accepted)")
        if self._push_token is None:
            return refuse(403, f"[{src}] 本数据源未配置 push_token (no push_token is configured)")
        given = request.query.get("token")
        if not given:
            return refuse(401, f"[{src}] 推送地址缺少 token 参数 (push URL carries no ?token=)")
        if not hmac.compare_digest(given.encode(), self._push_token):
            return refuse(403, f"[{src}] 推送 token 不符 (push token does not match)")
        if self.config.allow_ips and not self._ip_allowed(request.client_ip):
            return refuse(
                403,
                f"[{src}] 来源 IP {request.client_ip} 不在 allow_ips 中 "
                f"(source IP {request.client_ip} is not in allow_ips)",
            )
        try:
            doc = loads(request.body)
        except JSONDecodeError as exc:
            return refuse(400, f"[{src}] 推送正文不是合法 JSON (push body is not JSON: {exc})")
        if not isinstance(doc, dict) or not isinstance(doc.get("messageType"), str):
            return refuse(
                400,
                f"[{src}] 推送正文缺少 messageType (push body must be an object with messageType)",
            )
        return PushVerdict(accept=True, decoded=doc)

    def _ip_allowed(self, client_ip: str | None) -> bool:
        if not client_ip:
            return False
        try:
            ip = ipaddress.ip_address(client_ip)
        except ValueError:
            return False
        return any(ip in net for net in self.config.allow_ips)

    # -- parse ------------------------------------------------------------------------------

    def parse(self, raw: RawMessage) -> Iterable[Parsed]:
        if raw.stream == "push":
            return self._mapper.map_message(partial(self._push_message, self._document(raw)))
        if raw.stream == "device_status":
            return self._mapper.map_message(partial(self._page, raw))
        raise self.unknown_stream(raw.stream)

    def _document(self, raw: RawMessage) -> dict[str, Any]:
        """The push as `verify_push` parsed it, or parsed again (a reparse from the inbox)."""
        if raw.decoded is not None:
            decoded: dict[str, Any] = raw.decoded
            return decoded
        return json_object(self.source.name, raw)

    def _push_message(self, msg: dict[str, Any], session: MapSession) -> None:
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
            extra = {"iccid": msg["iccid"]} if msg.get("iccid") else None
            session.online(dev, online == 1, ts, ref, extra)
        else:
            self._event_report(session, dev, msg, ts, ref)

    def _event_report(
        self, session: MapSession, dev: DeviceRef, msg: dict[str, Any], ts: int, ref: str
    ) -> None:
        etype = msg.get("eventType")
        if not isinstance(etype, int) or etype not in _EVENT_KINDS:
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
        sampled = self._sample_time(dev, data)
        if sampled is not None:
            data = {k: v for k, v in data.items() if k != SAMPLE_TIME_KEY}
            ts = sampled
        for key, value in data.items():
            session.value(dev, key, value, ts, ref)

    def _sample_time(self, dev: DeviceRef, data: Mapping[str, Any]) -> int | None:
        """The values' sample time (epoch ms) when they carry one as `time`, unless the device
        map says `time` is something else."""
        value = data.get(SAMPLE_TIME_KEY)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
            return None
        if self._mapper.key_map(dev.entry, SAMPLE_TIME_KEY) is not None:
            return None
        try:
            number = int(value)
        except (ValueError, OverflowError):  # text, NaN, infinity
            return None
        if number in _EPOCH_MS:
            return number
        return number * 1000 if number in _EPOCH_S else None

    def _appdata(
        self,
        session: MapSession,
        dev: DeviceRef,
        encoded: Any,
        product_id: str,
        ts: int,
        ref: str,
    ) -> Mapping[str, Any] | None:
        codec = self._codecs.get(product_id) or registered_codec(product_id)
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

    def _page(self, raw: RawMessage, session: MapSession) -> None:
        """A pulled page: status history items of one device."""
        page = json_object(self.source.name, raw, "device", "items")
        ref = f"device_status#{page['device']}"
        dev = session.device(ref, page["device"])
        if dev is None:
            return
        product_id = str(page.get("product_id") or "")
        if not isinstance(page["items"], list):
            session.error(ref, "items", "items 应为列表 (items must be a list)")
            return
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
