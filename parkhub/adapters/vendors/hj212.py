"""HJ 212 data loggers as a parkhub source: a TCP listener, frames to canonical Measurements."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from parkhub.adapters.common import AdapterConfig
from parkhub.adapters.vendors.base import (
    Listener,
    ListenerMessage,
    ListenHandler,
    Parsed,
    RawMessage,
    VendorAdapter,
)
from parkhub.canonical import EnvironmentalData, Measurement, Period, Quality
from parkhub.canonical.hj212_factors import metric_for, passthrough_metric
from parkhub.errors import InputError, InputWarning
from parkhub.protocols.hj212 import Hj212Listener, ReceivedFrame
from parkhub.protocols.hj212.codec import (
    MAX_FRAME_BYTES,
    Frame,
    FrameError,
    parse_frame,
    parse_value,
    peek_mn,
)

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
    tolerant: bool = Field(False, description="accept this logger's non-standard frames")


class Hj212Config(AdapterConfig):
    host: str = Field("127.0.0.1", description="listen address; 0.0.0.0 to accept loggers")
    port: int = Field(9212, ge=0, le=65535, description="0: any free port")
    tolerant: bool = Field(False, description="accept non-standard frames from every logger")
    devices: dict[str, Hj212Device] = Field(default_factory=dict, description="by MN")
    require_known_devices: bool = Field(False, description="refuse frames from unlisted MNs")
    max_frame_bytes: int = Field(MAX_FRAME_BYTES, ge=64, le=1_000_000)
    idle_timeout_seconds: float = Field(900, gt=0)

    def tolerant_for(self, mn: str) -> bool:
        device = self.devices.get(mn)
        return self.tolerant or (device is not None and device.tolerant)


class Hj212Adapter(VendorAdapter[Hj212Config]):
    """Data loggers (数采仪) connect to parkhub's HJ 212 listener; each frame is one raw message."""

    name: ClassVar[str] = "hj212"
    config_model: ClassVar[type[Hj212Config]] = Hj212Config
    capabilities: ClassVar[frozenset[str]] = frozenset({"listen"})

    def listener(self, handler: ListenHandler) -> Listener:
        """A TCP listener on the configured host and port; each frame (or an unreadable one,
        to be kept as rejected) goes to `handler` before the 9014 answer."""
        cfg = self.config

        async def hand_over(received: ReceivedFrame) -> None:
            await handler(
                ListenerMessage(
                    received.raw,
                    received.kind,
                    "text/plain; charset=utf-8",
                    rejected=str(received.error) if received.error is not None else None,
                    meta={"peer": f"{received.peer[0]}:{received.peer[1]}", "kind": received.kind},
                )
            )

        return Hj212Listener(
            hand_over,
            host=cfg.host,
            port=cfg.port,
            tolerant=cfg.tolerant_for,
            max_frame_bytes=cfg.max_frame_bytes,
            idle_timeout=cfg.idle_timeout_seconds,
        )

    def frame(self, data: bytes) -> Frame:
        mn = peek_mn(data)
        return parse_frame(data, tolerant=bool(mn) and self.config.tolerant_for(mn or ""))

    def parse(self, raw: RawMessage) -> Iterator[Parsed]:
        if raw.stream == "packet":
            return  # one part of a split upload: kept raw; the reassembled upload carries data
        try:
            frame = self.frame(raw.body)
        except FrameError as exc:
            raise InputError(self.source.name, f"{raw.stream}#frame", exc.field, str(exc)) from None
        ref = f"MN={frame.mn} QN={frame.qn or '-'} CN={frame.cn}"
        device = self.config.devices.get(frame.mn)
        if device is None and self.config.require_known_devices:
            raise InputError(self.source.name, ref, "MN", "未登记的数采仪 (unknown data logger)")
        if device is not None and device.password is not None and frame.pw != device.password:
            raise InputError(self.source.name, ref, "PW", "访问密码错误 (wrong password)")
        period = DATA_PERIODS.get(frame.cn)
        if period is None:
            return  # not a data upload (answers, parameters): kept raw, no records
        try:
            ts = frame.data_time
        except FrameError as exc:
            raise InputError(self.source.name, ref, "DataTime", str(exc)) from None
        if ts is None:
            raise InputError(self.source.name, ref, "DataTime", "缺少数据时间 (no DataTime)")
        base = {
            "device_id": (device.device_id if device else None) or f"hj212:{frame.mn}",
            "ts": ts,
            "period": period,
            "credit_code": device.credit_code if device else None,
        }
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
