"""The source contract: a vendor platform, device protocol or file format that feeds parkhub.

Authors write `parse` (and `pull`/`streams` or `verify_push` where the source has them); the
engine methods are final (after singer-sdk's `@typing.final`).
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, final

import httpx
from pydantic import BaseModel, ValidationError

from parkhub.adapters.common import ConfigT, HttpOwner
from parkhub.canonical import Record
from parkhub.canonical.timeutil import utcnow
from parkhub.errors import InputError

RecordT = TypeVar("RecordT", bound=Record)


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
    decoded: Any = field(default=None, compare=False)
    """What `verify_push` decoded of `body` (decrypted, parsed), handed to `parse` so it is
    not decoded twice; None when the message comes from the inbox (`parse` decodes `body`)."""


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
    decoded: Any = None
    """The body as verified (decrypted, parsed): it goes to `parse` with the message."""


@dataclass(frozen=True, slots=True)
class SourceContext:
    """Who the adapter works for: the configured source name and its park."""

    name: str
    park_id: str


class VendorAdapter(HttpOwner, abc.ABC, Generic[ConfigT]):
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
