"""生态环境 platform: environmental monitoring data uploaded as HJ 212 frames over TCP.

Each EnvironmentalData record becomes one 2011/2051/2061/2031 frame asking for an answer; the
platform's 9014 with the same QN is the receipt. The platform's config says which standard it
speaks: HJ 212-2017 (Flag=5) or HJ 212-2025 (Flag=9, and the CP SM4-encrypted with the key the
platform issued for the device, when one is configured). The QN is derived from the data time
and the delivery's idempotency key, so a retried upload carries the same QN and the platform
(which deduplicates on MN + QN + CN) keeps it once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import threading
from collections.abc import Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from parkhub.adapters.common import AdapterConfig, Sm4Key, sm4_key_bytes
from parkhub.adapters.platforms.base import Platform, Receipt, ReportSpec
from parkhub.canonical import timeutil
from parkhub.errors import PermanentDeliveryError, TransientDeliveryError
from parkhub.protocols.hj212 import (
    Frame,
    Hj212Uplink,
    UplinkError,
    UplinkRefused,
    data_frame,
    sm4,
)
from parkhub.secrets import Secret

CN_BY_PERIOD = {"instant": "2011", "minute": "2051", "hour": "2061", "day": "2031"}


def delivery_qn(data_time: dt.datetime, idempotency_key: str) -> str:
    """The QN of a delivery's frame: DataTime (Beijing) + 3 digits of the idempotency key, so
    every attempt of one delivery carries the same QN and the platform keeps it once."""
    digits = int(hashlib.blake2b(idempotency_key.encode(), digest_size=4).hexdigest(), 16)
    return timeutil.format_local(data_time, "%Y%m%d%H%M%S") + f"{digits % 1000:03d}"


class EcologyDevice(BaseModel):
    """How a monitor is registered with the ecology platform."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mn: str = Field(min_length=1, description="设备唯一标识 MN issued by the platform")
    password: Secret = Field(description="访问密码 PW: env:NAME or file:NAME")
    st: str | None = Field(None, description="system code (32 wastewater, 31 flue gas, ...)")
    sm4_key: Sm4Key | None = Field(
        None,
        description="HJ 212-2025: the SM4 key the platform issued for this device (env:NAME or "
        "file:NAME naming 32 hex digits or 16 characters); its data CP goes encrypted",
    )


class EcologyConfig(AdapterConfig):
    host: str = Field(description="the platform's HJ 212 receiver")
    port: int = Field(ge=1, le=65535)
    standard: Literal["2017", "2025"] = Field(
        "2017",
        description="the HJ 212 the platform speaks: 2017 (Flag=5) or 2025 (Flag=9, CP "
        "SM4-encrypted for devices with an sm4_key); HJ 212-2025 is in force from 2026-01-01",
    )
    timeout_seconds: float = Field(10.0, gt=0, description="HJ 212 Table 1 default: 10 s")
    retries: int = Field(3, ge=0, le=10, description="HJ 212 Table 1 default: 3")
    devices: dict[str, EcologyDevice] = Field(description="canonical device id -> registration")


class EcologyPlatform(Platform[EcologyConfig]):
    """The ecology & environment department's HJ 212 receiver."""

    name: ClassVar[str] = "ecology"
    title: ClassVar[str] = "生态环境"
    config_model: ClassVar[type[EcologyConfig]] = EcologyConfig
    reports: ClassVar[Mapping[str, ReportSpec]] = {
        "monitoring_data": ReportSpec(
            record_kind="environmental_data",
            mapping="ecology.monitoring_data.yaml",
            schema="ecology/monitoring_data.schema.json",
            priority=50,
            title="在线监测数据",
            description="污染源在线监测数据 (HJ 212 data uploads)",
        ),
    }

    def __init__(self, config: EcologyConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._uplink: Hj212Uplink | None = None
        self._lock = threading.Lock()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._loop.run_forever, daemon=True, name="ecology-uplink"
            )
            self._thread.start()
            self._uplink = Hj212Uplink(
                self.config.host,
                self.config.port,
                timeout=self.config.timeout_seconds,
                retries=self.config.retries,
            )
        return self._loop

    def build_frame(self, payload: Mapping[str, Any], idempotency_key: str) -> Frame:
        device = self.config.devices.get(str(payload["deviceId"]))
        if device is None:
            raise PermanentDeliveryError(
                f"{self.name}: 设备未在生态环境平台登记 (device {payload['deviceId']} has no MN "
                "in the ecology platform config)"
            )
        cn = CN_BY_PERIOD[str(payload["period"])]
        data_time = timeutil.as_utc(dt.datetime.fromisoformat(str(payload["dataTime"])))
        return data_frame(
            cn,
            st=device.st or str(payload.get("st") or "32"),
            mn=device.mn,
            pw=device.password.get_secret_value(),
            data_time=data_time,
            factors=payload["factors"],
            qn=delivery_qn(data_time, idempotency_key),
            ack=True,
            version=self.config.standard,
        )

    def sm4_key(self, frame: Frame) -> bytes | None:
        """The key a 2025 upload of this device is encrypted with (None: sent in plain text)."""
        if self.config.standard != "2025" or not sm4.encrypts(frame.cn):
            return None
        device = next((d for d in self.config.devices.values() if d.mn == frame.mn), None)
        return sm4_key_bytes(device.sm4_key) if device is not None else None

    def send(self, report: str, payload: Mapping[str, Any], idempotency_key: str) -> Receipt:
        frame = self.build_frame(payload, idempotency_key)
        key = self.sm4_key(frame)
        budget = self.config.timeout_seconds * (self.config.retries + 1) + 15
        with self._lock:  # one upload at a time on the connection, as loggers do
            loop = self._ensure_loop()
            assert self._uplink is not None
            future = asyncio.run_coroutine_threadsafe(self._uplink.send(frame, sm4_key=key), loop)
            try:
                answer = future.result(timeout=budget)
            except UplinkRefused as exc:
                raise PermanentDeliveryError(f"{self.name}: 平台拒收 (refused: {exc})") from None
            except UplinkError as exc:
                raise TransientDeliveryError(f"{self.name}: {exc}") from None
            except FutureTimeout:
                future.cancel()
                raise TransientDeliveryError(
                    f"{self.name}: 超时 (no answer in {budget:.0f} s)"
                ) from None
        detail = {"answer_cn": answer.cn, "standard": self.config.standard, "sm4": key is not None}
        return Receipt(f"{frame.mn}/{frame.qn}/{frame.cn}", detail=detail)

    def close(self) -> None:
        if self._loop is not None and self._uplink is not None:
            asyncio.run_coroutine_threadsafe(self._uplink.close(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._loop.close()
            self._loop = None
        super().close()
