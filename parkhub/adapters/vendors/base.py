"""The source contract: a vendor platform, device protocol or file format that feeds parkhub.

Authors write `parse` (and `pull`/`streams`, `verify_push` or `listener` where the source has
them); the engine methods are final (after singer-sdk's `@typing.final`).
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, final

import httpx
from pydantic import BaseModel, ValidationError

from parkhub.adapters.common import ConfigT, HttpOwner
from parkhub.canonical import Record
from parkhub.canonical.jsonutil import JSONDecodeError, loads
from parkhub.canonical.timeutil import utcnow
from parkhub.errors import InputError, InputWarning

Parsed = Record | InputError
"""What `parse` yields: a canonical record, or an InputError (an InputWarning) about one."""


def json_object(source: str, raw: RawMessage, *keys: str) -> dict[str, Any]:
    """The body of `raw` as a JSON object holding `keys`, or the InputError that fails the
    message as a whole (not JSON, not an object, a key missing): a parser's first line."""
    try:
        doc = loads(raw.body)
    except JSONDecodeError as exc:
        reason = f"无法解析: 不是 JSON (unparseable: not JSON: {exc})"
        raise InputError(source, f"{raw.stream}#raw", None, reason) from None
    if not isinstance(doc, dict):
        reason = f"应为 JSON 对象 (not an object: {type(doc).__name__})"
        raise InputError(source, f"{raw.stream}#raw", None, reason)
    for key in keys:
        if key not in doc:
            raise InputError(source, f"{raw.stream}#raw", key, f"缺少 {key} (missing {key})")
    return doc


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
    """What `parse_message` made of one raw message."""

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
class ListenerMessage:
    """What a listener hands over: one message as received, to be kept before it is answered.

    `rejected` is the reason when the listener could not read it (kept as rejected, not parsed
    until a reparse); `stream` is the stream `parse` sees. `meta` is kept with it (never
    credentials); a listener may put there what an operator sees per device: `device` (the
    device's own id), `warnings` (what was forgiven in reading it), `heartbeat` (a sign of life).
    `every_copy`: each arrival is kept, also one byte for byte equal to an earlier one (a
    heartbeat without a QN: every copy is a sign of life).
    `intact`: a rejected message that arrived whole and authentic but cannot be read yet (an
    SM4-encrypted frame without its key). It is always kept, to be parsed again after the fix;
    other rejected messages (damaged on the way, garbage) are kept only so many per source and
    peer address, as refused pushes are.
    """

    body: bytes
    stream: str
    content_type: str = "application/octet-stream"
    rejected: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    every_copy: bool = False
    intact: bool = False


ListenHandler = Callable[[ListenerMessage], Awaitable[None]]
"""Keeps a message durably; a listener answers its sender only after this returned."""


class Listener(Protocol):
    """A server a source's devices connect to (e.g. TCP for HJ 212 data loggers)."""

    @property
    def port(self) -> int:
        """The bound port (after `start`; useful when the config asks for port 0)."""
        ...

    async def start(self) -> None:
        """Bind and start accepting."""
        ...

    async def stop(self) -> None:
        """Stop accepting and close every connection."""
        ...


@dataclass(frozen=True, slots=True)
class SourceContext:
    """Who the adapter works for: the configured source name and its park."""

    name: str
    park_id: str


class VendorAdapter(HttpOwner, abc.ABC, Generic[ConfigT]):
    """A vendor platform, device protocol or file format that feeds parkhub.

    Write `parse`; add `pull`/`streams` for sources parkhub polls, `verify_push` for sources
    that call parkhub over HTTP and `listener` for sources whose devices connect to parkhub.
    Everything else is engine.
    """

    name: ClassVar[str]
    """Registry name used in parkhub.yaml (`vendor: qisheng`)."""
    config_model: ClassVar[type[BaseModel]]
    """Pydantic model of this adapter's `config:` block (published as JSON Schema)."""
    capabilities: ClassVar[frozenset[str]] = frozenset()
    """Subset of {"pull", "push", "listen", "file"}."""
    streams: ClassVar[tuple[str, ...]] = ()
    """Pull streams, in the order a sync runs them (e.g. roster before readings)."""
    push_methods: ClassVar[frozenset[str]] = frozenset({"POST"})
    """HTTP methods the push receiver takes for this source (add GET for URL handshakes)."""
    documents: ClassVar[Mapping[str, type[BaseModel]]] = {}
    """Files this adapter reads besides its `config:` block, by name (the REST vendor's
    `spec`): their JSON Schemas are published beside the config's."""

    def __init__(
        self, source: SourceContext, config: ConfigT, *, http: httpx.Client | None = None
    ) -> None:
        self.source = source
        self.config = config
        self._http = http

    def check(self) -> None:
        """Raise SourceError if the source cannot be reached with this config (one live call,
        nothing stored): `parkhub check --live` calls it."""

    def pull_streams(self) -> tuple[str, ...]:
        """The streams a sync pulls, in order: `streams`, unless the config declares them (the
        REST vendor's spec does)."""
        return self.streams

    def pull(self, stream: str, cursor: str | None) -> Iterator[RawBatch]:
        """Yield pages of `stream` after `cursor`, each with the cursor to resume from."""
        raise NotImplementedError(f"{self.name} does not pull")

    def verify_push(self, request: PushRequest) -> PushVerdict:
        """Check a pushed request (signature, token, freshness) before it is stored; hand
        what was decoded of the body on in `PushVerdict.decoded` (it reaches `parse` as
        `raw.decoded`), never in the adapter: one adapter serves many requests at once."""
        raise NotImplementedError(f"{self.name} does not accept pushes")

    def listener(self, handler: ListenHandler) -> Listener:
        """This source's listener, built from its config: every message it receives goes to
        `await handler(message)`, and the sender is answered only after that returned."""
        raise NotImplementedError(f"{self.name} does not listen")

    @abc.abstractmethod
    def parse(self, raw: RawMessage) -> Iterable[Parsed]:
        """Yield the canonical records found in `raw` (use `self.build`), an InputError for
        each record that could not be made and an InputWarning for each warning; raise
        InputError when the whole message is unusable (what was yielded before stays)."""

    # -- engine -----------------------------------------------------------------------------

    @final
    def parse_message(self, raw: RawMessage) -> ParseResult:
        """Parse one raw message; a bad record fails alone, a broken message fails whole."""
        records: list[Record] = []
        errors: list[InputError] = []
        warnings: list[InputError] = []
        keep = records.append
        # The hot path (a page of 1,000 readings): a record of the same type as the one before
        # is known by `type() is` (~17 ns); isinstance on a pydantic model costs ~60 ns even
        # against a plain exception class, and ~100 ns against Record (its metaclass).
        same: type[Any] | None = None
        try:
            for item in self.parse(raw):
                if type(item) is same:
                    keep(item)  # type: ignore[arg-type]  # the type of a record seen before
                elif isinstance(item, InputError):
                    (warnings if isinstance(item, InputWarning) else errors).append(item)
                else:
                    same = type(item)
                    keep(item)
        except InputError as exc:
            errors.append(exc)
        except Exception as exc:  # an adapter bug or a shape it never saw: the message fails alone
            reason = f"无法解析 (unparseable: {type(exc).__name__}: {exc})"
            errors.append(InputError(self.source.name, f"{raw.stream}#raw", None, reason))
        return ParseResult(records, errors, warnings)

    @final
    def build(
        self,
        model: type[Record],
        ref: str | Callable[[], str],
        data: dict[str, Any],
        *,
        field_names: Mapping[str, str] | None = None,
    ) -> list[Parsed]:
        """Validate `data` into `model`: `[record, *its warnings]`, or `[the InputError]`
        naming the vendor's field. A row parser returns it (`return self.build(...)`).

        `ref` names the record in errors (e.g. `readings#42`); a function giving it is called
        only when there is something to report. `field_names` maps canonical field names back
        to the vendor's, so the error names the field the operator sees in the vendor system.
        """
        data.setdefault("park_id", self.source.park_id)
        try:
            # the validator itself: model_validate's keyword handling costs ~0.3 us a record
            record: Record = model.__pydantic_validator__.validate_python(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"]) or None
            if loc and field_names:
                loc = field_names.get(loc.split(".")[0], loc)
            value = err.get("input")
            reason = err["msg"].removeprefix("Value error, ")
            if value is not None and not isinstance(value, dict):
                reason = f"{reason} (value {value!r})"
            return [InputError(self.source.name, _ref(ref), loc, reason)]
        if model.warnings is Record.warnings:  # only some models can warn
            return [record]
        name = self.source.name
        return [record, *(InputWarning(name, _ref(ref), None, w) for w in record.warnings)]


def _ref(ref: str | Callable[[], str]) -> str:
    return ref if isinstance(ref, str) else ref()
