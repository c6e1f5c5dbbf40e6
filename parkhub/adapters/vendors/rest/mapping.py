"""A stream's `fields`, compiled: one vendor record in, the data of one canonical record out.

Each field is found (JMESPath), defaulted, mapped, read as a time in the vendor's zone, scaled
and converted to the canonical unit (pint); ids are made the source's own and credit codes are
checked (python-stdnum). A value that cannot be made is a `FieldError` naming the vendor's
field, so one bad record fails alone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import jmespath

from parkhub.canonical import RECORD_TYPES, Record, units
from parkhub.canonical.identifiers import check_credit_code
from parkhub.canonical.timeutil import UTC, from_epoch_ms

from .spec import FieldSpec, RestSpec, StreamSpec, canonical_unit

Getter = Callable[[Any], Any]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SOURCE_IDS = ("device_id", "event_id")
"""Ids made `<source>:<vendor id>`, so two sources never share one."""
_DATES = ("entered_on", "left_on")
_PERIODS = ("period",)  # enterprise_monthly: YYYY-MM
_MISSING = (None, "")


class FieldError(ValueError):
    """A record's field could not be made: the vendor's field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def getter(path: str) -> Getter:
    """A function reading `path` from a record; a plain name is a dict lookup (the hot path)."""
    if _NAME.match(path) and path not in ("null", "true", "false"):
        return lambda row: row.get(path) if isinstance(row, dict) else None
    search: Getter = jmespath.compile(path).search
    return search


class CompiledField:
    """One compiled canonical field."""

    __slots__ = ("get", "name", "spec", "steps", "vendor")

    def __init__(self, name: str, spec: FieldSpec, stream: StreamSpec, rest: RestSpec) -> None:
        self.name = name
        self.spec = spec
        self.vendor = spec.path or name
        const = spec.const
        self.get: Getter = getter(spec.path) if spec.path else (lambda row: const)
        self.steps: list[Callable[[Any, Any], Any]] = []
        if spec.map is not None:
            self.steps.append(_mapper(spec.map, spec.default))
        if (
            spec.time is not None
            or name in ("ts", *_DATES)
            or (name in _PERIODS and spec.time is not None)
        ):
            self.steps.append(_timer(name, spec.time, ZoneInfo(spec.tz or rest.timezone)))
        if spec.scale is not None:
            scale = spec.scale
            self.steps.append(lambda v, row: _clean(_number(v) * scale))
        if spec.unit is not None or spec.unit_at is not None or spec.to is not None:
            self.steps.append(_converter(stream.kind, name, spec))

    def value(self, row: Any) -> Any:
        value = self.get(row)
        if value in _MISSING:
            value = self.spec.default
        if value is None:
            return None
        try:
            for step in self.steps:
                value = step(value, row)
        except FieldError:
            raise
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise FieldError(self.vendor, str(exc)) from None
        return value


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"应为数字 (must be a number, got {value!r})")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"应为数字 (must be a number, got {value!r})") from None


def _clean(value: float) -> float:
    """A computed value without float noise (0.1 MWh is 100 kWh, not 100.00000000000001):
    12 significant digits, more than any meter gives."""
    return float(f"{value:.12g}")


def _key(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _mapper(table: dict[str, Any], default: Any) -> Callable[[Any, Any], Any]:
    known = {str(k): v for k, v in table.items()}

    def apply(value: Any, row: Any) -> Any:
        key = _key(value)
        if key in known:
            return known[key]
        if default is not None:
            return default
        shown = ", ".join(list(known)[:8])
        raise ValueError(f"值 {value!r} 不在映射表中 (no entry for {value!r}; known: {shown})")

    return apply


def _timer(name: str, fmt: str | None, zone: ZoneInfo) -> Callable[[Any, Any], Any]:
    def apply(value: Any, row: Any) -> Any:
        when = _parse_time(value, fmt or "iso", zone)
        if name in _DATES:
            return when.astimezone(zone).date()
        if name in _PERIODS:
            return when.astimezone(zone).strftime("%Y-%m")
        return when

    return apply


def _parse_time(value: Any, fmt: str, zone: ZoneInfo) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif fmt == "epoch_ms":
        return from_epoch_ms(_epoch(value))
    elif fmt == "epoch_s":
        return dt.datetime.fromtimestamp(_epoch(value), UTC)
    elif isinstance(value, (int, float)) or not isinstance(value, str):
        raise ValueError(
            f"时间格式错误 (a number: give the field time: epoch_ms or epoch_s; got {value!r})"
        )
    elif fmt == "iso":
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"时间格式错误 (not an ISO 8601 time: {value!r})") from None
    else:
        try:
            parsed = dt.datetime.strptime(value, fmt)
        except ValueError:
            raise ValueError(f"时间格式错误 ({value!r} does not match {fmt})") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def _epoch(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"时间戳应为数字 (an epoch time is a number, got {value!r})")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"时间戳应为数字 (an epoch time is a number, got {value!r})") from None


def _converter(kind: str, name: str, spec: FieldSpec) -> Callable[[Any, Any], Any]:
    fixed_target = spec.to or canonical_unit(kind, name)
    unit_at = getter(spec.unit_at) if spec.unit_at else None
    unit_field = spec.unit_at or ""

    def apply(value: Any, row: Any) -> Any:
        number = _number(value)
        unit = spec.unit
        if unit_at is not None:
            unit = unit_at(row)
            if unit in _MISSING:
                raise FieldError(unit_field, "缺少单位 (no unit)")
            unit = str(unit)
        if unit is None:
            return number
        try:
            target = fixed_target or units.base_unit(unit)
        except ValueError as exc:
            raise FieldError(unit_field or name, f"未知单位 ({exc})") from None
        if target is None or target == unit:
            return _Converted(number, unit)
        try:
            return _Converted(_clean(units.convert(number, unit, target)), target)
        except ValueError as exc:
            raise FieldError(unit_field or name, f"单位无法换算 ({exc})") from None

    return apply


class _Converted(float):
    """A value converted from one unit to another, carrying the unit it is now in."""

    unit: str

    def __new__(cls, value: float, unit: str) -> _Converted:
        self = super().__new__(cls, value)
        self.unit = unit
        return self


class StreamMapper:
    """A stream's records -> the data of canonical records (for `VendorAdapter.build`)."""

    def __init__(self, rest: RestSpec, stream: StreamSpec, source: str) -> None:
        self.model: type[Record] = RECORD_TYPES[stream.kind]
        self.kind = stream.kind
        self.source = source
        self.fields = [
            CompiledField(n, f, stream, rest) for n in stream.fields if (f := stream.field(n))
        ]
        self.field_names = {f.name: f.vendor for f in self.fields}
        ref = stream.ref or _key_path(stream)
        self.ref: Getter | None = getter(ref) if ref else None

    def reference(self, stream: str, row: Any, index: int) -> str:
        value = self.ref(row) if self.ref is not None and isinstance(row, dict) else None
        return f"{stream}#{index if value in _MISSING else value}"

    def data(self, row: Any) -> tuple[dict[str, Any], list[str]]:
        """The canonical data of `row` and its warnings; FieldError for a field that cannot
        be made."""
        if not isinstance(row, dict):
            raise FieldError("(record)", f"记录应为对象 (a record must be an object, got {row!r})")
        data: dict[str, Any] = {}
        warnings: list[str] = []
        for field in self.fields:
            value = field.value(row)
            if value is None:
                continue
            if isinstance(value, _Converted):
                if field.name == "value" and "unit" not in self.field_names:
                    data["unit"] = value.unit
                value = float(value)
            elif field.name in _SOURCE_IDS:
                value = f"{self.source}:{value}"
            elif field.name == "credit_code":
                value = self._credit_code(field, value, warnings)
            data[field.name] = value
        return data, warnings

    def _credit_code(self, field: CompiledField, value: Any, warnings: list[str]) -> str:
        try:
            check = check_credit_code(str(value))
        except ValueError as exc:
            raise FieldError(field.vendor, str(exc)) from None
        if not check.ok and check.warning and self.kind != "enterprise":  # enterprise warns itself
            warnings.append(f"{field.vendor}: {check.warning}")
        return check.code


def _key_path(stream: StreamSpec) -> str | None:
    key = {"event": "event_id", "enterprise": "credit_code", "device": "device_id"}.get(stream.kind)
    spec = stream.field(key) if key else None
    return spec.path if spec is not None else None
