"""The OneNET adapter: pushes of the old multi-protocol platform and of OneNET Studio (plain
or AES-encrypted), and history pulls, into canonical records through the device map."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
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
from parkhub.adapters.vendors.devicemap import MapSession
from parkhub.canonical.timeutil import to_epoch_ms, utcnow
from parkhub.errors import InputError

from .config import OneNetConfig
from .pull import OneNetPulls, parse_at
from .push import Decoded, PushKeys, Reject

# per pull stream: the time field of a point, how it reads, what a bad one is called
_SERIES: dict[str, tuple[str, Callable[[Any], int], str]] = {
    "datapoints": ("at", lambda text: to_epoch_ms(parse_at(text)), "datapoint"),
    "property_history": ("time", int, "history"),
}


class OneNetAdapter(OneNetPulls):
    """OneNET pushes (old `msg`/`enc_msg` bodies, Studio rule-engine bodies) and pulls.

    Push URL: `https://<host>/push/onenet/<source>` (GET for URL verification, POST for data).
    """

    name: ClassVar[str] = "onenet"
    config_model: ClassVar[type[BaseModel]] = OneNetConfig
    capabilities: ClassVar[frozenset[str]] = frozenset({"push", "pull"})
    streams: ClassVar[tuple[str, ...]] = ("datapoints", "property_history")
    push_methods: ClassVar[frozenset[str]] = frozenset({"GET", "POST"})

    def __init__(
        self,
        source: SourceContext,
        config: OneNetConfig,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        super().__init__(source, config, http=http, clock=clock)
        self._keys = PushKeys.of(config)

    def verify_push(self, request: PushRequest) -> PushVerdict:
        """Check a OneNET push: URL verification (GET) or a signed, fresh data push (POST)."""
        return self._keys.verify(self.source.name, request, self._clock())

    # -- parse ------------------------------------------------------------------------------

    def parse(self, raw: RawMessage) -> Iterable[Parsed]:
        if raw.stream == "push":
            return self._mapper.map_message(partial(self._push, self._opened(raw)))
        if raw.stream in _SERIES:
            return self._mapper.map_message(partial(self._series, raw))
        if raw.stream == "verify":
            return ()
        raise self.unknown_stream(raw.stream)

    def _opened(self, raw: RawMessage) -> Decoded:
        """The push as `verify_push` opened it, or opened again (a reparse from the inbox)."""
        if raw.decoded is not None:
            decoded: Decoded = raw.decoded
            return decoded
        try:
            return self._keys.decode(raw.body)
        except Reject as exc:
            raise InputError(self.source.name, "push#raw", None, exc.reason) from None

    def _push(self, decoded: Decoded, session: MapSession) -> None:
        kind, payload = decoded
        if kind == "studio":
            self._studio_message(session, payload)
            return
        for item in payload if isinstance(payload, list) else (payload,):
            self._old_message(session, item)

    def _old_message(self, session: MapSession, msg: Any) -> None:
        if not isinstance(msg, dict):
            session.error("push#msg", "msg", "msg 元素应为对象 (msg item must be an object)")
            return
        mtype, at = msg.get("type"), msg.get("at")
        ref = f"push#{msg.get('dev_id')}@{at}"
        if mtype == 7:  # NB cached-command result: kept in the raw inbox, no record
            return
        if mtype not in (1, 2):
            session.warn(
                ref, "type", f"未处理的消息类型 {mtype} (message type {mtype!r} not handled)"
            )
            return
        if not isinstance(at, int | str) or not (str(at).isascii() and str(at).isdigit()):
            session.error(ref, "at", f"缺少时间戳 (missing or bad `at`: {at!r})")
            return
        dev = session.device(ref, msg.get("dev_id"), msg.get("imei"))
        if dev is None:
            return
        extra = {"login_type": msg["login_type"]} if "login_type" in msg else None
        if mtype == 2:
            status = msg.get("status")
            if status not in (0, 1):
                session.error(
                    ref, "status", f"上下线状态应为 0/1 (status must be 0 or 1: {status!r})"
                )
                return
            session.online(dev, status == 1, int(at), ref, extra)
            return
        key = msg.get("ds_id")
        if not isinstance(key, str) or not key:
            session.error(ref, "ds_id", "缺少数据流 ds_id (missing ds_id)")
            return
        session.value(dev, key, msg.get("value"), int(at), ref)

    def _studio_message(self, session: MapSession, msg: dict[str, Any]) -> None:
        mtype = msg.get("messageType")
        data = msg.get("data")
        name = msg.get("deviceName")
        ref = f"push#{name}"
        if mtype == "reply":  # service-call result: kept in the raw inbox, no record
            return
        if mtype not in ("notify", "lifeCycle") or not isinstance(data, dict):
            session.warn(
                ref, "messageType", f"未处理的消息类型 (messageType {mtype!r} not handled)"
            )
            return
        dev = session.device(ref, name, msg.get("imei"))
        if dev is None:
            return
        if mtype == "lifeCycle":
            status = data.get("status")
            ts = data.get("time", msg.get("timestamp"))
            if status not in ("online", "offline") or not isinstance(ts, int):
                session.error(ref, "data.status", f"生命周期消息无效 (bad lifeCycle: {data!r})")
                return
            session.online(dev, status == "online", ts, f"{ref}@{ts}")
            return
        params = data.get("params")
        if not isinstance(params, dict):
            session.error(ref, "data.params", "缺少 params (notify without params)")
            return
        notify = msg.get("notifyType")
        extra = {"notify_type": notify} if notify == "event" else None
        for key, item in params.items():
            time = item.get("time") if isinstance(item, dict) else None
            if isinstance(time, str) and time.isascii() and time.isdigit() and len(time) < 20:
                time = int(time)
            if not isinstance(time, int) or isinstance(time, bool):
                session.error(
                    ref, key, f"缺少 value/time (property needs value and time: {item!r})"
                )
                continue
            session.value(dev, key, item.get("value"), time, f"{ref}@{time}", extra)

    def _series(self, raw: RawMessage, session: MapSession) -> None:
        """A pulled page: the points of one series (device and key)."""
        field, read, what = _SERIES[raw.stream]
        page = json_object(self.source.name, raw, "device", "key", "points")
        ref = f"{raw.stream}#{page['device']}"
        dev = session.device(ref, page["device"])
        if dev is None:
            return
        key, points = page["key"], page["points"]
        if not isinstance(key, str) or not isinstance(points, list):
            session.error(ref, "points", "应为数据流名与点列表 (key and a list of points expected)")
            return
        for point in points:
            try:
                ts = read(point[field])
            except (KeyError, TypeError, ValueError):
                session.error(ref, field, f"时间无法识别 (bad {what} time: {point!r})")
                continue
            label = point[field] if field == "at" else ts  # a point's time as its API writes it
            session.value(dev, key, point.get("value"), ts, f"{ref}@{label}")
