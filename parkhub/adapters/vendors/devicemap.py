"""Device map shared by the IoT platform adapters: vendor device ids and data keys to canonical
devices, measurements and events. Unknown devices and keys are kept, with a warning."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from parkhub.adapters.vendors.base import Parsed
from parkhub.canonical import Event, EventKind, Measurement, Record
from parkhub.canonical.jsonutil import dumps_str
from parkhub.canonical.timeutil import from_epoch_ms
from parkhub.errors import InputError, InputWarning

__all__ = [
    "DeviceEntry",
    "DeviceMap",
    "DeviceMapper",
    "DeviceRef",
    "EventRule",
    "KeyMap",
    "MapSession",
    "Severity",
    "Status",
    "norm_value",
]

Severity = Literal["info", "warning", "critical"]
Status = Literal["open", "acknowledged", "rectifying", "closed"]
ValueType = Literal["number", "text"]

# Placeholders vendors put where an id is missing; never match a device on them.
_NO_ID = frozenset({"", "undefined", "null", "none", "-1"})


def norm_value(value: Any) -> str:
    """A value as the string used to match `when:` entries: 2, 2.0 and "2" are all "2"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value.strip()
    return dumps_str(value)


def _number(value: Any) -> float | None:
    """A vendor's value as a finite number; None for anything else ("1e400", "inf" and "nan"
    included: no quantity)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an int past what a float holds
            return None
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventRule(_Model):
    """What one value of an event key means (e.g. `Alarm_Status` 2 → a critical fire alarm)."""

    event: EventKind | None = Field(None, description="override the key's event kind")
    severity: Severity = "warning"
    status: Status = "open"
    title: str | None = None


class KeyMap(_Model):
    """How one vendor key becomes canonical: a measurement, an event, or both."""

    metric: str | None = Field(None, description="canonical metric, e.g. electricity, temperature")
    unit: str | None = Field(None, description="unit after scaling, e.g. kWh, degC, %")
    scale: float = Field(1.0, description="canonical value = vendor value × scale")
    value_type: ValueType = Field(
        "number",
        description='number: the value is a number ("12.5" as text too); text: kept as the '
        "text sent (identifiers such as IMEIs and serial numbers that look like numbers)",
    )
    event: EventKind | None = Field(None, description="emit an Event of this kind")
    when: dict[str, EventRule | None] | None = Field(
        None,
        description="per value: the event to emit, or null for none; without `when` every "
        "value emits an event",
    )
    title: str | None = None
    ignore: bool = Field(False, description="deliberately drop this key (e.g. Cell_ID)")

    @field_validator("when", mode="before")
    @classmethod
    def _str_keys(cls, value: Any) -> Any:
        # YAML reads `2:` as an int key; match on the normalised string.
        if isinstance(value, dict):
            return {norm_value(k): v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _needs_target(self) -> KeyMap:
        if self.metric is None and self.event is None and not self.ignore:
            raise ValueError(
                "数据项需配置 metric、event 或 ignore (a key needs `metric`, `event` or `ignore`)"
            )
        if self.when is not None and self.event is None:
            raise ValueError("`when` 需与 event 同用 (`when` needs `event`)")
        return self


class DeviceEntry(_Model):
    """One vendor device and the canonical device it is."""

    vendor_ids: list[str] = Field(
        min_length=1,
        description="ids the vendor uses for it: OneNET dev_id / deviceName / IMEI, "
        "CTWing deviceId / IMEI",
    )
    device_id: str = Field(min_length=1, description="canonical device id")
    credit_code: str | None = Field(None, description="owning enterprise's credit code")
    device_type: str | None = None
    name: str | None = None
    keys: dict[str, KeyMap] = Field(default_factory=dict, description="overrides per key")

    @field_validator("vendor_ids", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, str | int):
            value = [value]
        if isinstance(value, list):
            return [str(v).strip() for v in value]
        return value


class DeviceMap(_Model):
    """Per source: which devices exist and what their keys mean."""

    keys: dict[str, KeyMap] = Field(
        default_factory=dict,
        description="key mappings for every device of the source (datastream id, LwM2M "
        "obj_inst_res like 3300_0_5700, property identifier, serviceData key)",
    )
    devices: list[DeviceEntry] = Field(default_factory=list)

    _index: dict[str, DeviceEntry] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _build_index(self) -> DeviceMap:
        index: dict[str, DeviceEntry] = {}
        for entry in self.devices:
            for vid in entry.vendor_ids:
                other = index.get(vid)
                if other is not None and other is not entry:
                    raise ValueError(
                        f"厂商设备号 {vid} 重复 (vendor id {vid!r} is listed for both "
                        f"{other.device_id} and {entry.device_id})"
                    )
                index[vid] = entry
        self._index = index
        return self

    def index(self) -> dict[str, DeviceEntry]:
        """Vendor id → device entry."""
        return dict(self._index)


class Builder(Protocol):
    """`VendorAdapter.build`."""

    def __call__(self, model: type[Record], ref: str, data: dict[str, Any]) -> list[Parsed]: ...


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """A resolved device: the vendor id that matched (or was seen) and the canonical id."""

    vendor_id: str
    device_id: str
    credit_code: str | None = None
    entry: DeviceEntry | None = None


class DeviceMapper:
    """Turns (device, key, value, time) from a vendor message into canonical records."""

    def __init__(self, source: str, vendor: str, device_map: DeviceMap, build: Builder) -> None:
        self.source = source
        self.vendor = vendor
        self.build = build
        # plain dicts: pydantic private attributes are slow to reach on the hot path
        self._devices = device_map.index()
        self._keys = dict(device_map.keys)

    def lookup(self, vendor_id: str) -> DeviceEntry | None:
        return self._devices.get(vendor_id)

    def key_map(self, entry: DeviceEntry | None, key: str) -> KeyMap | None:
        """The mapping of `key` for this device: its own override, else the source's."""
        if entry is not None and entry.keys:
            found = entry.keys.get(key)
            if found is not None:
                return found
        return self._keys.get(key)

    def map_message(self, work: Callable[[MapSession], None]) -> Iterator[Parsed]:
        """Run `work` on one raw message with a fresh session and yield what it made. When
        `work` fails, what it made before is yielded first, then the error goes on (to
        `parse_message`, which reports the message as broken and keeps those records)."""
        session = MapSession(self)
        try:
            work(session)
        except Exception:
            yield from session.items
            raise
        yield from session.items


@dataclass(slots=True)
class MapSession:
    """Collects what one raw message makes (records, errors, warnings); warnings about the
    same device or key are given once."""

    mapper: DeviceMapper
    items: list[Parsed] = field(default_factory=list)
    _warned: set[tuple[str, str]] = field(default_factory=set)

    def warn(self, ref: str, fld: str | None, reason: str) -> None:
        self.items.append(InputWarning(self.mapper.source, ref, fld, reason))

    def error(self, ref: str, fld: str | None, reason: str) -> None:
        self.items.append(InputError(self.mapper.source, ref, fld, reason))

    def _first(self, what: str, name: str) -> bool:
        """True the first time this session warns about `name` (a device, a device's key)."""
        if (what, name) in self._warned:
            return False
        self._warned.add((what, name))
        return True

    def device(self, ref: str, *ids: Any) -> DeviceRef | None:
        """Find the device by the first id the map knows; unknown devices are kept, with a
        canonical id `<source>:<vendor id>` and a warning. None if the message has no id."""
        seen: list[str] = []
        for raw in ids:
            if raw is None or isinstance(raw, bool):
                continue
            vid = str(raw).strip()
            if vid.lower() in _NO_ID:
                continue
            entry = self.mapper.lookup(vid)
            if entry is not None:
                return DeviceRef(vid, entry.device_id, entry.credit_code, entry)
            seen.append(vid)
        if not seen:
            self.error(ref, None, "消息中没有设备标识 (message carries no device id)")
            return None
        vid = seen[0]
        if self._first("device", vid):
            self.warn(
                ref,
                None,
                f"设备 {vid} 不在设备映射中，已按 {self.mapper.source}:{vid} 保留 "
                f"(unknown device {vid!r}, kept as {self.mapper.source}:{vid}; add it to "
                "device_map)",
            )
        return DeviceRef(vid, f"{self.mapper.source}:{vid}")

    def time_ok(self, ts_ms: int, ref: str) -> bool:
        """True if `ts_ms` (epoch milliseconds) is a time a record can hold (years 1-9999,
        as Python's datetime); else an error about the record."""
        if _MIN_MS <= ts_ms <= _MAX_MS:
            return True
        self.error(ref, "time", f"时间超出范围 (time out of range: {ts_ms!r} ms)")
        return False

    def event_id(self, dev: DeviceRef, ts_ms: int, key: str) -> str:
        return f"{self.mapper.source}:{dev.device_id}:{ts_ms}:{key}"

    def value(
        self,
        dev: DeviceRef,
        key: str,
        value: Any,
        ts_ms: int,
        ref: str,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Map one reported value by the device map; unmapped keys become `<vendor>:<key>`."""
        if not self.time_ok(ts_ms, ref):
            return
        km = self.mapper.key_map(dev.entry, key)
        if km is None:
            self.keep(dev, key, value, ts_ms, ref, "未映射的数据项 (unmapped key)", extra)
            return
        if km.ignore:
            return
        if km.metric is not None:
            self._measurement(dev, key, km, value, ts_ms, ref, extra)
        if km.event is None:
            return
        if km.when is None:
            self.event(dev, km.event, key, ts_ms, ref, title=km.title, value=value, extra=extra)
            return
        norm = norm_value(value)
        if norm in km.when:
            rule = km.when[norm]
            if rule is not None:
                self.event(
                    dev,
                    rule.event or km.event,
                    key,
                    ts_ms,
                    ref,
                    severity=rule.severity,
                    status=rule.status,
                    title=rule.title or km.title,
                    value=value,
                    extra=extra,
                )
            return
        reason = f"取值 {norm} 未在 when 中配置 (value {norm!r} is not listed under `when`)"
        if km.metric is None:
            self.keep(dev, key, value, ts_ms, ref, reason, extra)
        else:
            self.warn(ref, key, reason)

    def event(
        self,
        dev: DeviceRef,
        kind: EventKind,
        key: str,
        ts_ms: int,
        ref: str,
        *,
        severity: Severity = "warning",
        status: Status = "open",
        title: str | None = None,
        value: Any = None,
        detail: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if not self.time_ok(ts_ms, ref):
            return
        data: dict[str, Any] = {
            **_located(dev, ts_ms),
            "event_id": self.event_id(dev, ts_ms, key),
            "event_kind": kind,
            "severity": severity,
            "status": status,
            "title": title or key,
            "extra": {
                "vendor": self.mapper.vendor,
                "vendor_device": dev.vendor_id,
                "vendor_key": key,
                **(extra or {}),
            },
        }
        if value is not None:
            data["extra"]["value"] = value
            data["detail"] = detail or f"{key}={norm_value(value)}"
        elif detail:
            data["detail"] = detail
        if dev.entry is not None and dev.entry.device_type:
            # Platforms route on it: a fire platform takes offline events of fire devices only.
            data["extra"]["device_type"] = dev.entry.device_type
        self.items += self.mapper.build(Event, ref, data)

    def online(
        self,
        dev: DeviceRef,
        online: bool,
        ts_ms: int,
        ref: str,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """The device came online (closing its offline event) or went offline."""
        self.event(
            dev,
            EventKind.DEVICE_ONLINE if online else EventKind.DEVICE_OFFLINE,
            "status",
            ts_ms,
            ref,
            severity="info" if online else "warning",
            status="closed" if online else "open",
            title="设备上线 (device online)" if online else "设备离线 (device offline)",
            extra=extra,
        )

    def _measurement(
        self,
        dev: DeviceRef,
        key: str,
        km: KeyMap,
        value: Any,
        ts_ms: int,
        ref: str,
        extra: dict[str, Any] | None,
    ) -> None:
        if km.value_type == "text":
            text = value if value is None or isinstance(value, str) else norm_value(value)
            data: dict[str, Any] = {**_located(dev, ts_ms), "metric": km.metric, "value": None}
            extra = {**(extra or {}), "raw": text} if text is not None else extra
        else:
            number = _number(value)
            if number is None and value is not None:
                self.error(ref, key, f"数值无法识别 (value is not a number: {str(value)[:100]!r})")
                return
            scaled = None if number is None else number * km.scale
            if scaled is not None and not math.isfinite(scaled):
                self.error(ref, key, f"数值超出范围 (value out of range: {value!r} × {km.scale})")
                return
            data = {**_located(dev, ts_ms), "metric": km.metric, "value": scaled}
        if km.unit is not None:
            data["unit"] = km.unit
        if extra:
            data["extra"] = extra
        self.items += self.mapper.build(Measurement, ref, data)

    def keep(
        self,
        dev: DeviceRef,
        key: str,
        value: Any,
        ts_ms: int,
        ref: str,
        reason: str,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Keep a value nobody mapped as metric `<vendor>:<key>`, flagged, with a warning.

        Nothing says it is a measurement, so text stays text (`extra.raw`), also text that
        looks like a number (an IMEI, a serial number); numbers sent as numbers are values."""
        if not self.time_ok(ts_ms, ref):
            return
        if self._first("key", f"{dev.device_id}|{key}"):
            self.warn(
                ref,
                key,
                f"{reason}: 设备 {dev.vendor_id} 的 {key} 已按 {self.mapper.vendor}:{key} 保留 "
                f"(device {dev.vendor_id!r} key {key!r} kept as metric "
                f"{self.mapper.vendor}:{key}; map it in device_map)",
            )
        number = None if isinstance(value, str) else _number(value)
        flags: dict[str, Any] = {"unmapped": True, "vendor_key": key, **(extra or {})}
        if number is None and value is not None:
            flags["raw"] = value
        metric = f"{self.mapper.vendor}:{key}"
        data = {**_located(dev, ts_ms), "metric": metric, "value": number, "extra": flags}
        self.items += self.mapper.build(Measurement, ref, data)


_MIN_MS = -62135596800000 + 86_400_000  # 0001-01-02 UTC: a day's margin for any offset
_MAX_MS = 253402300799999 - 86_400_000  # 9999-12-30 UTC


def _located(dev: DeviceRef, ts_ms: int) -> dict[str, Any]:
    """Where and when a record happened: the device, its enterprise (if known), the time."""
    out: dict[str, Any] = {"device_id": dev.device_id, "ts": from_epoch_ms(ts_ms)}
    if dev.credit_code:
        out["credit_code"] = dev.credit_code
    return out
