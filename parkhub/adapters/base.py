"""The two adapter contracts and their registry.

A VendorAdapter turns what a vendor sends (pulled pages, pushed messages, files) into canonical
records; a Platform sends a mapped payload and returns a Receipt. Authors write a few methods;
the engine methods are final (after singer-sdk's `@typing.final`).
"""

from __future__ import annotations

import abc
import datetime as dt
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar, Generic, TypeVar, final

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from parkhub.canonical import Record
from parkhub.canonical.timeutil import utcnow
from parkhub.errors import ConfigError, InputError

ConfigT = TypeVar("ConfigT", bound=BaseModel)
_HTTP_LOCK = threading.Lock()
RecordT = TypeVar("RecordT", bound=Record)


class AdapterConfig(BaseModel):
    """Base of every adapter config model: unknown keys are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One unit of raw input exactly as received: a pulled page, a pushed body, a file."""

    source: str
    stream: str
    body: bytes
    content_type: str = "application/json"
    received_at: dt.datetime = field(default_factory=utcnow)
    raw_id: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RawBatch:
    """A page pulled from a vendor and the cursor to resume after it."""

    message: RawMessage
    next_cursor: str | None


@dataclass(slots=True)
class ParseResult:
    records: list[Record] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PushRequest:
    """What a push receiver got: method, query, headers and the body text as received."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    client_ip: str | None = None


@dataclass(frozen=True, slots=True)
class PushVerdict:
    """How to answer a push: accept (store it), or reject with an HTTP status and reason."""

    accept: bool
    status_code: int = 200
    reason: str = ""
    response_body: bytes = b'{"code":0,"msg":"ok"}'
    store: bool = True  # False for handshakes (URL verification) that carry no data
    stream: str = "push"


@dataclass(frozen=True, slots=True)
class SourceContext:
    """Who the adapter works for: the configured source name and its park."""

    name: str
    park_id: str


class _HttpOwner:
    """One lazily built httpx client per adapter or platform, closed with it."""

    _http: httpx.Client | None
    _timeout: ClassVar[float] = 15.0

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            with _HTTP_LOCK:  # dispatcher threads may ask at once: build one client, not eight
                if self._http is None:
                    self._http = httpx.Client(timeout=httpx.Timeout(self._timeout, connect=5.0))
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()


class VendorAdapter(_HttpOwner, abc.ABC, Generic[ConfigT]):
    """A vendor platform, device protocol or file format that feeds parkhub.

    Write `parse`; add `pull`/`streams` for sources parkhub polls and `verify_push` for sources
    that call parkhub. Everything else is engine.
    """

    name: ClassVar[str]
    """Registry name used in parkhub.yaml (`vendor: qisheng`)."""
    config_model: ClassVar[type[BaseModel]]
    """Pydantic model of this adapter's `config:` block (published as JSON Schema)."""
    capabilities: ClassVar[frozenset[str]] = frozenset()
    """Subset of {"pull", "push", "file"}."""
    streams: ClassVar[tuple[str, ...]] = ()
    """Pull streams, in the order a sync runs them (e.g. roster before readings)."""

    def __init__(
        self, source: SourceContext, config: ConfigT, *, http: httpx.Client | None = None
    ) -> None:
        self.source = source
        self.config = config
        self._http = http

    def check(self) -> None:
        """Raise SourceError if the source cannot be reached with this config."""

    def pull(self, stream: str, cursor: str | None) -> Iterator[RawBatch]:
        """Yield pages of `stream` after `cursor`, each with the cursor to resume from."""
        raise NotImplementedError(f"{self.name} does not pull")

    def verify_push(self, request: PushRequest) -> PushVerdict:
        """Check a pushed request (signature, token, freshness) before it is stored."""
        raise NotImplementedError(f"{self.name} does not accept pushes")

    @abc.abstractmethod
    def parse(self, raw: RawMessage, result: ParseResult) -> None:
        """Add the canonical records found in `raw` to `result` (use `self.build`)."""

    # -- engine -----------------------------------------------------------------------------

    @final
    def parse_message(self, raw: RawMessage) -> ParseResult:
        """Parse one raw message; a bad record fails alone, a broken message fails whole."""
        result = ParseResult()
        try:
            self.parse(raw, result)
        except InputError as exc:
            result.errors.append(exc)
        except Exception as exc:  # an adapter bug or a shape it never saw: the message fails alone
            reason = f"无法解析 (unparseable: {type(exc).__name__}: {exc})"
            result.errors.append(InputError(self.source.name, f"{raw.stream}#raw", None, reason))
        return result

    @final
    def build(
        self,
        model: type[RecordT],
        ref: str | Callable[[], str],
        data: dict[str, Any],
        result: ParseResult,
        *,
        field_names: Mapping[str, str] | None = None,
    ) -> RecordT | None:
        """Validate `data` into `model`; on failure add an InputError naming the vendor's field.

        `ref` names the record in errors (e.g. `readings#42`); a function giving it is called
        only when there is something to report. `field_names` maps canonical field names back
        to the vendor's, so the error names the field the operator sees in the vendor system.
        """
        data.setdefault("park_id", self.source.park_id)
        try:
            # the validator itself: model_validate's keyword handling costs ~0.3 us a record
            record: RecordT = model.__pydantic_validator__.validate_python(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"]) or None
            if loc and field_names:
                loc = field_names.get(loc.split(".")[0], loc)
            value = err.get("input")
            reason = err["msg"].removeprefix("Value error, ")
            if value is not None and not isinstance(value, dict):
                reason = f"{reason} (value {value!r})"
            result.errors.append(InputError(self.source.name, _ref(ref), loc, reason))
            return None
        if model.warnings is not Record.warnings:  # only some models can warn
            for warning in record.warnings:
                result.warnings.append(InputError(self.source.name, _ref(ref), None, warning))
        result.records.append(record)
        return record


def _ref(ref: str | Callable[[], str]) -> str:
    return ref if isinstance(ref, str) else ref()


@dataclass(frozen=True, slots=True)
class Receipt:
    """The platform's acknowledgement: its id for what it accepted, and whether it was a repeat."""

    receipt_id: str
    duplicate: bool = False
    detail: Mapping[str, Any] = field(default_factory=dict)
    received_at: dt.datetime = field(default_factory=utcnow)


RecordFilter = Mapping[str, Collection[str]]
"""{dotted field path: accepted values (compared as text)}."""


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """One report a platform takes: which canonical records feed it and how they are mapped."""

    record_kind: str
    mapping: str
    """Mapping spec file name in parkhub/mappings/specs/."""
    schema: str | None = None
    """Payload JSON Schema path under parkhub/schemas/platforms/."""
    priority: int = 100
    """Lower goes first: fire alarms use 0."""
    description: str = ""
    when: RecordFilter | tuple[RecordFilter, ...] | None = None
    """Only records matching this filter, e.g. `{"event_kind": ("hidden_danger", "incident")}`:
    {dotted field path: accepted values}, every path must match; a tuple of filters takes a
    record matching any of them. None (the default) takes every record of `record_kind`."""

    def accepts(self, record: Mapping[str, Any] | Record) -> bool:
        """Whether a record (its document or the record itself) goes to this report."""
        if self.when is None:
            return True
        clauses = (self.when,) if isinstance(self.when, Mapping) else self.when
        return any(
            all(_matches(_field_text(record, path), values) for path, values in clause.items())
            for clause in clauses
        )


def _matches(text: str | None, values: Collection[str]) -> bool:
    return text == values if isinstance(values, str) else text in values


def _field_text(record: Mapping[str, Any] | Record, path: str) -> str | None:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
        if value is None:
            return None
    return str(value)


class Platform(_HttpOwner, abc.ABC, Generic[ConfigT]):
    """A destination: the provincial platform or a department's system."""

    _timeout: ClassVar[float] = 10.0

    name: ClassVar[str]
    """Registry name used in parkhub.yaml (`type: provincial`)."""
    config_model: ClassVar[type[BaseModel]]
    reports: ClassVar[Mapping[str, ReportSpec]]
    """The reports this platform takes, by name."""

    def __init__(self, config: ConfigT, *, http: httpx.Client | None = None) -> None:
        self.config = config
        self._http = http

    @abc.abstractmethod
    def send(self, report: str, payload: Mapping[str, Any], idempotency_key: str) -> Receipt:
        """Deliver one payload. Raise TransientDeliveryError or PermanentDeliveryError."""


# -- registry ---------------------------------------------------------------------------------

_BUILTIN_VENDORS = {
    "qisheng": "parkhub.adapters.vendors.qisheng:QishengAdapter",
    "onenet": "parkhub.adapters.vendors.onenet:OneNetAdapter",
    "ctwing": "parkhub.adapters.vendors.ctwing:CtwingAdapter",
    "hj212": "parkhub.adapters.vendors.hj212.adapter:Hj212Adapter",
    "manual": "parkhub.adapters.vendors.manual:ManualAdapter",
}
_BUILTIN_PLATFORMS = {
    "provincial": "parkhub.adapters.platforms.provincial:ProvincialPlatform",
    "ecology": "parkhub.adapters.platforms.ecology:EcologyPlatform",
    "econ": "parkhub.adapters.platforms.econ:EconPlatform",
    "safety": "parkhub.adapters.platforms.safety:SafetyPlatform",
    "fire": "parkhub.adapters.platforms.fire:FirePlatform",
    "stats": "parkhub.adapters.platforms.stats:StatsPlatform",
}


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    mod = __import__(module, fromlist=[attr])
    return getattr(mod, attr)


def _registry(group: str, builtin: Mapping[str, str]) -> dict[str, str]:
    found = dict(builtin)
    for ep in entry_points(group=group):
        found[ep.name] = ep.value
    return found


def register_vendor(name: str, ref: str) -> None:
    _BUILTIN_VENDORS[name] = ref


def register_platform(name: str, ref: str) -> None:
    _BUILTIN_PLATFORMS[name] = ref


def vendor_names() -> list[str]:
    return sorted(_registry("parkhub.vendors", _BUILTIN_VENDORS))


def platform_names() -> list[str]:
    return sorted(_registry("parkhub.platforms", _BUILTIN_PLATFORMS))


def vendor_class(name: str) -> type[VendorAdapter[Any]]:
    """Find a vendor adapter by registry name, entry point (parkhub.vendors) or module:Class."""
    refs = _registry("parkhub.vendors", _BUILTIN_VENDORS)
    ref = refs.get(name, name if ":" in name else None)
    if ref is None:
        raise ConfigError(f"未知的厂商适配器 (unknown vendor {name!r}; known: {', '.join(refs)})")
    cls = _load(ref)
    if not (isinstance(cls, type) and issubclass(cls, VendorAdapter)):
        raise ConfigError(f"{ref} is not a VendorAdapter")
    return cls


def platform_class(name: str) -> type[Platform[Any]]:
    """Find a platform by registry name, entry point (parkhub.platforms) or module:Class."""
    refs = _registry("parkhub.platforms", _BUILTIN_PLATFORMS)
    ref = refs.get(name, name if ":" in name else None)
    if ref is None:
        raise ConfigError(f"未知的平台 (unknown platform {name!r}; known: {', '.join(refs)})")
    cls = _load(ref)
    if not (isinstance(cls, type) and issubclass(cls, Platform)):
        raise ConfigError(f"{ref} is not a Platform")
    return cls


def iter_records(results: Iterable[ParseResult]) -> Iterator[Record]:
    for result in results:
        yield from result.records
