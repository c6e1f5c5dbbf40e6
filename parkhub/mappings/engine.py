"""The mapping engine: a declarative spec turns a canonical document into a platform payload.

Each target field takes a JMESPath over the document (or a constant) and a chain of named
transforms. No eval: a spec can only select, convert and format.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from importlib.resources import files
from typing import Any

import jmespath
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from parkhub.canonical import codes, units
from parkhub.canonical.timeutil import SHANGHAI
from parkhub.errors import ConfigError, MappingError
from parkhub.resources import find_data_file

Transform = Callable[[Any], Any]
_MISSING = object()


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str | None = Field(None, description="JMESPath over the canonical document")
    const: Any = Field(None, description="a fixed value instead of a path")
    transforms: list[dict[str, Any] | str] = Field(default_factory=list)
    required: bool = False
    label: str | None = Field(None, description="中文表头 (header label for file outputs)")

    @field_validator("transforms")
    @classmethod
    def _one_name_each(cls, v: list[dict[str, Any] | str]) -> list[dict[str, Any] | str]:
        for item in v:
            if isinstance(item, dict) and len(item) != 1:
                raise ValueError(f"a transform is a name or {{name: argument}}, got {item!r}")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        if self.path is None and self.const is None:
            raise ValueError("a field needs `path` or `const`")
        return self


class MappingSpec(BaseModel):
    """A mapping spec file (YAML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str = Field(description="goes into every idempotency key: bump it on any change")
    record_kind: str
    description: str = ""
    fields: dict[str, FieldSpec | str]


def _round(ndigits: int) -> Transform:
    quantum = Decimal(1).scaleb(-ndigits)

    def apply(v: Any) -> Any:
        if v is None:
            return None
        d = Decimal(str(v)).quantize(quantum, rounding=ROUND_HALF_UP)
        return int(d) if ndigits <= 0 else float(d)

    return apply


def _unit(arg: Any) -> Transform:
    if isinstance(arg, Mapping):
        src, dst = arg["from"], arg["to"]
    else:
        src, dst = arg
    units.factor(src, dst)  # fail at load time, not at send time

    def apply(v: Any) -> Any:
        return None if v is None else units.convert(float(v), src, dst)

    return apply


def _scale(arg: Any) -> Transform:
    k = float(arg)
    return lambda v: None if v is None else float(v) * k


def _datetime(arg: Any) -> Transform:
    fmt = "%Y-%m-%d %H:%M:%S" if arg is None else arg
    if isinstance(arg, Mapping):
        fmt = arg.get("format", "%Y-%m-%d %H:%M:%S")
    if not isinstance(fmt, str):
        raise TypeError(f"the format must be text, got {fmt!r}")

    def apply(v: Any) -> Any:
        if v is None:
            return None
        value = v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(str(v))
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(SHANGHAI).strftime(fmt)

    return apply


def _epoch_ms(_: Any) -> Transform:
    def apply(v: Any) -> Any:
        if v is None:
            return None
        return int(dt.datetime.fromisoformat(str(v)).timestamp() * 1000)

    return apply


def _period(arg: Any) -> Transform:
    fmt = str(arg)

    def apply(v: Any) -> Any:
        if v is None:
            return None
        year, month = str(v).split("-")
        return dt.date(int(year), int(month), 1).strftime(fmt)

    return apply


_CODE_LISTS: dict[str, Callable[[str], Any]] = {
    "division_name": lambda c: codes.DIVISIONS.get(codes.normalize_division(c)),
    "industry_section": codes.industry_section,
    "industry_name": lambda c: codes.INDUSTRY_CLASSES.get(c),
}


def _code(arg: Any) -> Transform:
    if arg not in _CODE_LISTS:
        raise ValueError(f"unknown code list {arg!r}; known: {', '.join(_CODE_LISTS)}")
    lookup = _CODE_LISTS[arg]
    return lambda v: None if v is None else lookup(str(v))


def _map(arg: Any) -> Transform:
    table = dict(arg.get("values", arg)) if isinstance(arg, Mapping) else {}
    default = arg.get("default", _MISSING) if isinstance(arg, Mapping) else _MISSING

    def apply(v: Any) -> Any:
        key = str(v).lower() if isinstance(v, bool) else v
        if key in table:
            return table[key]
        if default is not _MISSING:
            return default
        raise ValueError(f"value {v!r} has no entry in the map")

    return apply


def _default(arg: Any) -> Transform:
    return lambda v: arg if v is None else v


def _cast(kind: type) -> Callable[[Any], Transform]:
    return lambda _: lambda v: None if v is None else kind(v)


TRANSFORMS: dict[str, Callable[[Any], Transform]] = {
    "round": lambda a: _round(int(a)),
    "unit": _unit,
    "scale": _scale,
    "datetime": _datetime,
    "epoch_ms": _epoch_ms,
    "period": _period,
    "code": _code,
    "map": _map,
    "default": _default,
    "string": _cast(str),
    "int": _cast(int),
    "float": _cast(float),
}


class CompiledField:
    __slots__ = ("const", "expr", "label", "path", "required", "steps", "target")

    def __init__(self, target: str, spec: FieldSpec, spec_name: str) -> None:
        self.target = target.split(".")
        self.path = spec.path
        self.const = spec.const
        self.required = spec.required
        self.label = spec.label
        try:
            self.expr = jmespath.compile(spec.path) if spec.path else None
        except jmespath.exceptions.ParseError as exc:
            raise ConfigError(f"mapping {spec_name}: field {target!r}: bad path: {exc}") from None
        self.steps: list[tuple[str, Transform]] = []
        for item in spec.transforms:
            name, arg = (item, None) if isinstance(item, str) else next(iter(item.items()))
            if name not in TRANSFORMS:
                raise ConfigError(
                    f"mapping {spec_name}: field {target!r}: unknown transform {name!r}; "
                    f"known: {', '.join(TRANSFORMS)}"
                )
            try:
                self.steps.append((name, TRANSFORMS[name](arg)))
            except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError) as exc:
                raise ConfigError(
                    f"mapping {spec_name}: field {target!r}: transform {name}: {exc}"
                ) from None


class CompiledMapping:
    """A compiled mapping spec; `apply(doc)` gives the payload."""

    def __init__(self, spec: MappingSpec, origin: str) -> None:
        self.spec = spec
        self.origin = origin
        self.name = spec.name
        self.version = spec.version
        self.fields = [
            CompiledField(target, FieldSpec(path=f) if isinstance(f, str) else f, origin)
            for target, f in spec.fields.items()
        ]

    def labels(self) -> dict[str, str]:
        return {".".join(f.target): f.label or ".".join(f.target) for f in self.fields}

    def apply(self, doc: Mapping[str, Any], *, record: str = "?") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            try:
                value = f.expr.search(doc) if f.expr is not None else f.const
            except jmespath.exceptions.JMESPathError as exc:  # e.g. abs() of a text
                raise MappingError(
                    self.origin, ".".join(f.target), record, f"path {f.path} failed: {exc}"
                ) from None
            for name, step in f.steps:
                try:
                    value = step(value)
                except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
                    raise MappingError(
                        self.origin,
                        ".".join(f.target),
                        record,
                        f"transform {name} failed on {value!r}: {exc}",
                    ) from None
            if value is None:
                if f.required:
                    raise MappingError(
                        self.origin,
                        ".".join(f.target),
                        record,
                        f"required value missing (path {f.path})",
                    )
                continue
            node = out
            for part in f.target[:-1]:
                node = node.setdefault(part, {})
            node[f.target[-1]] = value
        return out


SPECS = files("parkhub.mappings") / "specs"
SPECS_GROUP = "parkhub.mappings"
"""Entry-point group of plugin packages holding mapping specs: `<plugin> = "<package>"`, each
spec at `<package>/<file>` for a ReportSpec `mapping="<file>"` (`dept.monthly.yaml`)."""


@lru_cache(maxsize=128)
def load_mapping(name: str) -> CompiledMapping:
    """Load and compile a spec by file name (e.g. `provincial.park_monthly.yaml`): built in, or
    from a plugin package (entry-point group `parkhub.mappings`)."""
    file = find_data_file(name, SPECS, SPECS_GROUP, "映射规格 (mapping spec)", ConfigError)
    return compile_spec(file.read_text(encoding="utf-8"), name)


def compile_spec(text: str, name: str) -> CompiledMapping:
    """A spec's YAML text, validated and compiled; any problem is a ConfigError naming it."""
    try:
        spec = MappingSpec.model_validate(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        raise ConfigError(f"mapping spec {name}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(f"mapping spec {name}: {exc}") from None
    return CompiledMapping(spec, name)
