"""HJ 212 data loggers as a parkhub source: a TCP listener, frames to canonical records.

Data uploads (2011/2051/2061/2031) become Measurements and one EnvironmentalData each; a 9015
heartbeat (HJ 212-2025) becomes the logger's liveness: one `device_online` Event per logger,
its time the last heartbeat. Every frame is kept raw with what an operator sees per device (the
MN, what was forgiven in reading it): `parkhub status` and the console show it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from parkhub.adapters.common import AdapterConfig, Sm4Key, sm4_key_bytes
from parkhub.adapters.vendors.base import (
    Listener,
    ListenerMessage,
    ListenHandler,
    Parsed,
    RawMessage,
    VendorAdapter,
)
from parkhub.canonical import EnvironmentalData, Event, EventKind, Measurement, Period, Quality
from parkhub.canonical.hj212_factors import metric_for, passthrough_metric
from parkhub.errors import InputError, InputWarning
from parkhub.protocols.hj212 import Hj212Listener, ReceivedFrame
from parkhub.protocols.hj212.codec import (
    MAX_FRAME_BYTES,
    TRANSMISSION,
    Frame,
    FrameError,
    parse_frame,
    parse_value,
    peek_mn,
)
from parkhub.protocols.hj212.codes import HEARTBEAT_CN

# Data commands and the period their DataTime starts (2011 is an instant).
DATA_PERIODS = {
    "2011": Period.INSTANT,
    "2051": Period.MINUTE,
    "2061": Period.HOUR,
    "2031": Period.DAY,
}
VALUE_SUFFIXES = ("Rtd", "Avg", "Min", "Max", "Cou", "ZsRtd", "ZsAvg", "ZsMin", "ZsMax")
QUALITY = {q.value: q for q in Quality}


class Hj212Device(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str | None = Field(None, description="canonical device id (default hj212:<MN>)")
    credit_code: str | None = Field(None, description="the discharging enterprise")
    password: str | None = Field(None, description="expected PW; frames with another are refused")
    strict: bool | None = Field(
        None,
        description="read this logger's frames to the letter of HJ 212 and refuse what departs "
        "from it (default: the source's `strict`)",
    )
    tolerant: bool | None = Field(
        None, description="former name: `tolerant: true` is `strict: false`"
    )
    sm4_key: Sm4Key | None = Field(
        None,
        description="HJ 212-2025 SM4 key of this logger (env:NAME or file:NAME naming 32 hex "
        "digits or 16 characters): its encrypted CP is decrypted",
    )


class Hj212Config(AdapterConfig):
    host: str = Field("127.0.0.1", description="listen address; 0.0.0.0 to accept loggers")
    port: int = Field(9212, ge=0, le=65535, description="0: any free port")
    strict: bool = Field(
        False,
        description="read every logger's frames to the letter of HJ 212 (default: accept what "
        "real loggers send, with a warning per frame); per logger under devices",
    )
    tolerant: bool | None = Field(
        None, description="former name: `tolerant: false` is `strict: true`"
    )
    devices: dict[str, Hj212Device] = Field(default_factory=dict, description="by MN")
    require_known_devices: bool = Field(False, description="refuse frames from unlisted MNs")
    max_frame_bytes: int = Field(MAX_FRAME_BYTES, ge=64, le=1_000_000)
    idle_timeout_seconds: float = Field(900, gt=0)

    def strict_for(self, mn: str) -> bool:
        """Whether this logger's frames are read to the letter: its own setting, else the
        source's."""
        device = self.devices.get(mn)
        if device is not None and device.strict is not None:
            return device.strict
        if device is not None and device.tolerant is not None:
            return not device.tolerant
        return self.strict if self.tolerant is None else not self.tolerant

    def tolerant_for(self, mn: str) -> bool:
        return not self.strict_for(mn)

    def sm4_key_for(self, mn: str) -> bytes | None:
        device = self.devices.get(mn)
        return None if device is None else sm4_key_bytes(device.sm4_key)


def listener_meta(received: ReceivedFrame) -> dict[str, Any]:
    """What is kept with a frame for operators: who sent it (peer, MN), the command, what was
    forgiven in reading it, whether it is a heartbeat. Never the PW."""
    error = received.error
    frame = received.frame or (error.frame if error is not None else None)
    meta: dict[str, Any] = {
        "peer": f"{received.peer[0]}:{received.peer[1]}",
        "kind": received.kind,
    }
    device = frame.mn if frame is not None else peek_mn(received.raw)
    if device:
        meta["device"] = device
    if frame is not None:
        meta["command"] = frame.cn
        meta["version"] = frame.version
    # a reassembled upload repeats its packets' warnings: they are counted with the packets
    if received.frame is not None and received.frame.warnings and received.kind != "reassembled":
        meta["warnings"] = list(received.frame.warnings)
    if received.frame is not None and received.frame.cn == HEARTBEAT_CN:
        meta["heartbeat"] = True
    return meta


class Hj212Adapter(VendorAdapter[Hj212Config]):
    """Data loggers (数采仪) connect to parkhub's HJ 212 listener; each frame is one raw message."""

    name: ClassVar[str] = "hj212"
    config_model: ClassVar[type[Hj212Config]] = Hj212Config
    capabilities: ClassVar[frozenset[str]] = frozenset({"listen"})

    def listener(self, handler: ListenHandler) -> Listener:
        """A TCP listener on the configured host and port; each frame (or an unreadable one,
        to be kept as rejected) goes to `handler` before its answer."""
        cfg = self.config

        async def hand_over(received: ReceivedFrame) -> None:
            frame, error = received.frame, received.error
            heartbeat = frame is not None and frame.cn == HEARTBEAT_CN
            await handler(
                ListenerMessage(
                    received.raw,
                    received.kind,
                    "text/plain; charset=utf-8",
                    rejected=str(error) if error is not None else None,
                    # intact but unreadable here (SM4 without a key): kept whatever the allowance
                    intact=error is not None and error.reason not in TRANSMISSION,
                    meta=listener_meta(received),
                    # a heartbeat without QN is the same bytes each time; each is a sign of life
                    every_copy=heartbeat and frame is not None and not frame.qn,
                )
            )

        return Hj212Listener(
            hand_over,
            host=cfg.host,
            port=cfg.port,
            tolerant=cfg.tolerant_for,
            sm4_key=cfg.sm4_key_for,
            max_frame_bytes=cfg.max_frame_bytes,
            idle_timeout=cfg.idle_timeout_seconds,
        )

    def frame(self, data: bytes) -> Frame:
        mn = peek_mn(data)
        cfg = self.config
        return parse_frame(data, tolerant=cfg.tolerant_for(mn), sm4_key=cfg.sm4_key_for(mn))

    def parse(self, raw: RawMessage) -> Iterator[Parsed]:
        if raw.stream == "packet":
            return  # one part of a split upload: kept raw; the reassembled upload carries data
        src = self.source.name
        try:
            frame = self.frame(raw.body)
        except FrameError as exc:
            where = f"MN={exc.frame.mn} " if exc.frame is not None else ""
            raise InputError(src, f"{where}{raw.stream}#frame", exc.field, str(exc)) from None
        ref = f"MN={frame.mn} QN={frame.qn or '-'} CN={frame.cn}"
        device = self.config.devices.get(frame.mn)
        if device is None and self.config.require_known_devices:
            raise InputError(src, ref, "MN", "未登记的数采仪 (unknown data logger)")
        if device is not None and device.password is not None and frame.pw != device.password:
            raise InputError(src, ref, "PW", "访问密码错误 (wrong password)")
        for warning in frame.warnings:
            yield InputWarning(src, ref, "frame", f"报文不合标准，已按容错读取 ({warning})")
        base: dict[str, Any] = {
            "device_id": (device.device_id if device else None) or f"hj212:{frame.mn}",
            "credit_code": device.credit_code if device else None,
        }
        if frame.cn == HEARTBEAT_CN:
            yield from self._heartbeat(frame, ref, base, raw.received_at)
            return
        period = DATA_PERIODS.get(frame.cn)
        if period is None:
            return  # not a data upload (answers, parameters): kept raw, no records
        try:
            ts = frame.data_time
        except FrameError as exc:
            raise InputError(src, ref, "DataTime", str(exc)) from None
        if ts is None:
            if "BeginTime" in frame.cp.values:  # a centre asking for history: no data in it
                return
            raise InputError(src, ref, "DataTime", "缺少数据时间 (no DataTime)")
        base.update(ts=ts, period=period)
        factors = frame.cp.factors
        yield from self.build(
            EnvironmentalData,
            ref,
            {
                **base,
                "system_code": frame.st,
                "factors": {code: dict(items) for code, items in factors.items()},
            },
        )
        for code, items in factors.items():
            yield from self._factor(frame, ref, base, code, items)

    def _heartbeat(
        self, frame: Frame, ref: str, base: dict[str, Any], received_at: dt.datetime
    ) -> Iterator[Parsed]:
        """The logger's liveness: one Event per logger (its key does not change), its time
        the last heartbeat's (QN, else DataTime, else when it arrived)."""
        ts: dt.datetime | None = None
        for moment in ("qn_time", "data_time"):
            try:
                ts = getattr(frame, moment)
            except FrameError:
                ts = None
            if ts is not None:
                break
        yield from self.build(
            Event,
            ref,
            {
                **base,
                "event_id": f"{self.source.name}:{base['device_id']}:heartbeat",
                "event_kind": EventKind.DEVICE_ONLINE,
                "ts": ts or received_at,
                "severity": "info",
                "status": "closed",
                "title": "数采仪心跳 (data logger heartbeat)",
                "detail": f"MN={frame.mn} CN={frame.cn}",
                "extra": {
                    "vendor": self.name,
                    "mn": frame.mn,
                    "st": frame.st,
                    "heartbeat": True,
                    "version": frame.version,
                },
            },
        )

    def _factor(
        self, frame: Frame, ref: str, base: dict[str, Any], code: str, items: Mapping[str, str]
    ) -> Iterator[Parsed]:
        """The Measurements of one factor: one per value (Rtd, Avg, Min, ...) it carries."""
        src = self.source.name
        info = metric_for(code)
        flag = items.get("Flag", "N")
        quality = QUALITY.get(flag)
        if quality is None:
            yield InputWarning(
                src, ref, f"{code}-Flag", f"未知数据标记 (unknown data flag {flag!r})"
            )
            quality = Quality.NORMAL
        if info is None:
            yield InputWarning(src, ref, code, "未知监测因子, 原样保留 (unknown factor kept)")
        extra = {"hj212_code": code, "mn": frame.mn, "st": frame.st}
        if flag != "N":
            extra["flag"] = flag
        for suffix in VALUE_SUFFIXES:
            text = items.get(suffix)
            if text is None or text == "":
                continue
            try:
                value = parse_value(text)
            except ValueError as exc:
                yield InputError(src, ref, f"{code}-{suffix}", str(exc))
                continue
            yield from self.build(
                Measurement,
                f"{ref} {code}-{suffix}",
                {
                    **base,
                    "metric": info.metric if info else passthrough_metric(code),
                    "value": value,
                    "unit": (info.unit or None) if info else None,
                    "quality": quality,
                    "stat": suffix.lower(),
                    "extra": dict(extra),
                },
            )
