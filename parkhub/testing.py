"""The conformance kit: prove a vendor adapter or a platform in a few lines of pytest.

    from parkhub.testing import VendorAdapterSuite

    class TestMyVendor(VendorAdapterSuite):
        adapter = MyVendorAdapter
        config = {"base_url": "http://127.0.0.1:8123", "token": "env:MYVENDOR_TOKEN"}
        samples = Path(__file__).parent / "fixtures" / "myvendor"

Sample files are named after the case they exercise. `<stream>.<case>.<ext>` must parse into at
least one record and no error; `<stream>.bad_<case>.<ext>` must give errors (InputError), never
an exception. A `<stem>.expected.json` beside a sample pins the exact canonical documents (`[]`
for a message that rightly makes none). Files named `<case>.<ext>` alone are samples of
`sample_stream`. A push adapter adds `forged_config` (the config with other push credentials)
and, when its credentials travel outside the body, `push_query`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, SecretStr

from parkhub.adapters.platforms.base import AnswerSpec, MockPlatform, Platform, Receipt
from parkhub.adapters.vendors.base import (
    ListenerMessage,
    ParseResult,
    PushRequest,
    RawMessage,
    SourceContext,
    VendorAdapter,
)
from parkhub.canonical import RECORD_TYPES, jsonutil
from parkhub.errors import DeliveryError, InputError, PermanentDeliveryError, TransientDeliveryError
from parkhub.mappings.engine import load_mapping
from parkhub.scheduler.platforms import bind_mappings
from parkhub.schemas.loader import payload_validator

__all__ = ["MockPlatform", "PlatformSuite", "Sample", "VendorAdapterSuite", "load_samples"]

CAPABILITIES = frozenset({"pull", "push", "listen", "file"})
HTTP_METHODS = frozenset({"GET", "POST", "PUT"})


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample file: the stream it is a message of, the case it exercises, its bytes."""

    stream: str
    case: str
    body: bytes
    path: Path

    @property
    def bad(self) -> bool:
        return self.case.startswith("bad_")

    def expected(self) -> Any:
        """The pinned canonical documents, or None."""
        path = self.path.with_name(f"{self.path.stem}.expected.json")
        return jsonutil.loads(path.read_bytes()) if path.exists() else None


def load_samples(
    folder: Path, *, stream: str | None = None, read: Callable[[Path], bytes] = Path.read_bytes
) -> list[Sample]:
    """Every sample file in `folder` (expected files and notes excluded); files named without
    a stream (`<case>.<ext>`) are samples of `stream`, if given."""
    out = []
    for path in sorted(folder.iterdir()):
        if path.is_dir() or path.name.endswith(".expected.json") or path.suffix == ".md":
            continue
        first, _, case = path.stem.partition(".")
        if not case and stream is not None:
            first, case = stream, first
        out.append(Sample(first, case or path.stem, read(path), path))
    return out


def _secret_fields(model: type[BaseModel]) -> list[str]:
    return [
        name
        for name, field in model.model_fields.items()
        if field.annotation is not None and "SecretStr" in str(field.annotation)
    ]


def _summary(result: ParseResult) -> list[Any]:
    return [
        [r.document_json() for r in result.records],
        [e.as_dict() for e in result.errors],
        [w.as_dict() for w in result.warnings],
    ]


class VendorAdapterSuite:
    """Subclass as `class TestX(VendorAdapterSuite)` and set the three attributes."""

    adapter: ClassVar[type[VendorAdapter[Any]]]
    """The adapter class under test."""
    config: ClassVar[Mapping[str, Any]]
    """Its `config:` block; a listening adapter's binds 127.0.0.1, port 0."""
    samples: ClassVar[Path]
    """The folder of sample files."""
    park_id: ClassVar[str] = "conformance-park"
    """The park the source belongs to."""
    sample_stream: ClassVar[str | None] = None
    """The stream of sample files named `<case>.<ext>`, without a stream."""
    forged_config: ClassVar[Mapping[str, Any] | None] = None
    """Push adapters: `config` with other push credentials; a push made for `config` must be
    refused by an adapter with these."""
    push_query: ClassVar[Mapping[str, str]] = {}
    """Push adapters: the query a genuine push carries (e.g. a token), for `push_request`."""
    foreign_samples: ClassVar[frozenset[str]] = frozenset()
    """Push samples captured with credentials we do not hold: parsed, never verified."""

    def make(self, config: Mapping[str, Any] | None = None) -> VendorAdapter[Any]:
        cfg = self.adapter.config_model.model_validate(dict(config or self.config))
        return self.adapter(SourceContext(f"{self.adapter.name}-test", self.park_id), cfg)

    def parse(self, stream: str, body: bytes, decoded: Any = None) -> ParseResult:
        raw = RawMessage(
            f"{self.adapter.name}-test",
            stream,
            body,
            received_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            decoded=decoded,
        )
        return self.make().parse_message(raw)

    def push_request(self, body: bytes) -> PushRequest:
        """A genuine push of `body`, as the vendor sends it to parkhub; override when the
        credentials are made per request (a signature header, say)."""
        path = f"/push/{self.adapter.name}-test"
        methods = self.adapter.push_methods
        method = "POST" if "POST" in methods else min(methods)
        headers = {"content-type": "application/json"}
        return PushRequest(method, path, dict(self.push_query), headers, body, "127.0.0.1")

    def sample_bytes(self, path: Path) -> bytes:
        """A sample file's message as the source sends it (override if files differ)."""
        return path.read_bytes()

    def all_samples(self) -> list[Sample]:
        return load_samples(self.samples, stream=self.sample_stream, read=self.sample_bytes)

    def test_declares_its_contract(self) -> None:
        cls = self.adapter
        assert isinstance(cls.name, str) and cls.name.isidentifier(), "name: a registry name"
        assert cls.capabilities <= CAPABILITIES, f"capabilities: a subset of {set(CAPABILITIES)}"
        if "pull" in cls.capabilities:
            assert cls.streams, "a pulling adapter lists streams"
            assert cls.pull is not VendorAdapter.pull, "a pulling adapter writes pull()"
        if "push" in cls.capabilities:
            assert cls.verify_push is not VendorAdapter.verify_push, "push: write verify_push()"
            assert cls.push_methods and cls.push_methods <= HTTP_METHODS, "push_methods"
        if "listen" in cls.capabilities:
            assert cls.listener is not VendorAdapter.listener, "listen: write listener()"
        schema = cls.config_model.model_json_schema()
        assert schema.get("type") == "object"

    def test_secrets_are_secret_fields(self) -> None:
        schema = self.adapter.config_model.model_json_schema()
        for name in _secret_fields(self.adapter.config_model):
            prop = schema["properties"][name]
            text = jsonutil.dumps_str(prop)
            assert '"secret":true' in text, f"{name}: type it parkhub.secrets.Secret"
        cfg = self.make().config
        for name in _secret_fields(self.adapter.config_model):
            value = getattr(cfg, name)
            assert value is None or isinstance(value, SecretStr)
            assert value is None or value.get_secret_value() not in repr(cfg)

    def test_good_samples_parse_into_canonical_records(self) -> None:
        good = [s for s in self.all_samples() if not s.bad]
        assert good, f"no good samples in {self.samples}"
        for sample in good:
            result = self.parse(sample.stream, sample.body)
            name = sample.path.name
            assert not result.errors, f"{name}: {[str(e) for e in result.errors]}"
            for rec in result.records:
                assert rec.kind in RECORD_TYPES
                RECORD_TYPES[rec.kind].model_validate(rec.document())
                assert rec.park_id == self.park_id
            expected = sample.expected()
            if expected is not None:
                assert [r.document() for r in result.records] == expected, name
            else:
                assert result.records, f"{name}: no records (pin [] in an expected file)"

    def test_parsing_is_deterministic(self) -> None:
        for sample in self.all_samples():
            first, second = (
                self.parse(sample.stream, sample.body),
                self.parse(sample.stream, sample.body),
            )
            assert [r.document_json() for r in first.records] == [
                r.document_json() for r in second.records
            ], f"{sample.path.name}: the same input must give the same records (idempotency)"
            assert [(r.kind, r.key) for r in first.records] == [
                (r.kind, r.key) for r in second.records
            ]

    def test_bad_samples_give_errors_not_exceptions(self) -> None:
        for sample in self.all_samples():
            if sample.bad:
                result = self.parse(sample.stream, sample.body)
                assert result.errors, f"{sample.path.name}: a bad sample must give an InputError"
                for err in result.errors:
                    assert isinstance(err, InputError) and err.source and err.reason

    def test_garbage_never_raises(self) -> None:
        streams = {*self.adapter.streams, *(s.stream for s in self.all_samples())} or {"push"}
        garbage = (b"", b"\x00\xff", b"{", b"[]", b"null", b'{"data": 1}', "中文".encode())
        for body in garbage:
            for stream in sorted(streams):
                result = self.parse(stream, body)
                assert isinstance(result, ParseResult)
            if "push" in self.adapter.capabilities:
                verdict = self.make().verify_push(self.push_request(body))  # a verdict, no raise
                assert verdict.accept or verdict.status_code >= 400

    # -- push -------------------------------------------------------------------------------

    def _pushes(self) -> list[Sample]:
        pushes = [s for s in self.all_samples() if s.stream == "push" and not s.bad]
        return [s for s in pushes if s.case not in self.foreign_samples]

    def test_a_verified_push_parses_as_its_reparse(self) -> None:
        """What `verify_push` decoded parses to exactly what the raw body parses to later (a
        reparse from the inbox, by another adapter instance): no cache is needed."""
        if "push" not in self.adapter.capabilities:
            return
        pushes = self._pushes()
        assert pushes, f"no push samples (push.<case>) in {self.samples}"
        for sample in pushes:
            verdict = self.make().verify_push(self.push_request(sample.body))
            name = sample.path.name
            assert verdict.accept, f"{name}: a genuine push is refused: {verdict.reason}"
            assert verdict.store and verdict.stream == sample.stream, name
            live = self.parse(verdict.stream, sample.body, verdict.decoded)
            assert _summary(live) == _summary(self.parse(sample.stream, sample.body)), name

    def test_a_forged_push_is_refused_and_never_parsed(self) -> None:
        if "push" not in self.adapter.capabilities:
            return
        assert self.forged_config is not None, "set forged_config: other push credentials"
        for sample in self._pushes():
            adapter = self.make(self.forged_config)
            parsed: list[RawMessage] = []
            adapter.parse = parsed.append  # type: ignore[method-assign,assignment]
            verdict = adapter.verify_push(self.push_request(sample.body))
            name = sample.path.name
            assert not verdict.accept, f"{name}: a forged push is accepted"
            assert verdict.status_code in (401, 403), f"{name}: {verdict.status_code}"
            assert verdict.reason and verdict.decoded is None and not parsed, name

    # -- listen -----------------------------------------------------------------------------

    def test_the_listener_binds_and_stops(self) -> None:
        if "listen" not in self.adapter.capabilities:
            return

        async def handler(message: ListenerMessage) -> None:
            raise AssertionError(f"nothing was sent, yet {message!r}")

        async def run() -> int:
            listener = self.make().listener(handler)
            await listener.start()
            try:
                return listener.port
            finally:
                await listener.stop()

        assert asyncio.run(run()) > 0, "the listener reports the port it bound"


def _put(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        body = body.setdefault(part, {})
    body[last] = value


def _code(spec: AnswerSpec, transient: bool) -> Any:
    for code, (_, is_transient) in spec.codes.items():
        if is_transient == transient and str(code) != str(spec.success):
            return code
    kind = "transient" if transient else "permanent"
    raise AssertionError(f"the answer table has no {kind} code: drop the mode from the suite")


class PlatformSuite:
    """Subclass as `class TestY(PlatformSuite)`; set `platform`, `config` and `samples`.

        class TestDept(PlatformSuite):
            platform = DeptPlatform
            config = {"base_url": "http://127.0.0.1:9", "token": "env:DEPT_TOKEN"}
            samples = {"monthly": {...a canonical document the report takes...}}

    It checks the declared reports (record kinds, mapping specs, payload schemas), the config,
    that each sample maps to a payload passing its schema, that the idempotency key reaches the
    platform and that failures are classified: `transient_modes` must raise
    TransientDeliveryError, `permanent_modes` PermanentDeliveryError, naming the platform.

    Sends go to `counterpart(mode)`: by default an httpx.MockTransport injected as `http=`,
    answering every request as `answer(mode, request)` says. A JsonApiPlatform's answers are
    built from its AnswerSpec; another HTTP platform sets `answers`, or overrides `answer`; a
    platform on another transport overrides `counterpart` (and `carries_key`).
    """

    platform: ClassVar[type[Platform[Any]]]
    config: ClassVar[Mapping[str, Any]]
    samples: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    """Report -> a canonical document it takes: every report needs one."""
    answers: ClassVar[AnswerSpec | None] = None
    """How the platform answers, if it is no JsonApiPlatform (which declares `answers`)."""
    transient_modes: ClassVar[tuple[str, ...]] = ("http_503", "http_429", "timeout", "busy")
    permanent_modes: ClassVar[tuple[str, ...]] = ("http_400", "business_error")

    # -- hooks --------------------------------------------------------------------------------

    def make(self, *, http: httpx.Client | None = None, **config: Any) -> Platform[Any]:
        """The platform with `config` (plus overrides) and its mapping labels, as the hub
        builds it."""
        cfg = self.platform.config_model.model_validate({**self.config, **config})
        platform = self.platform(cfg, http=http)
        bind_mappings(platform, self.platform.reports)
        return platform

    def answer(self, mode: str, request: httpx.Request) -> httpx.Response:
        """The counterpart's answer in `mode`: "ok", "busy" (a transient business code),
        "business_error" (a permanent one), "http_<status>", or "timeout" (raised)."""
        if mode == "timeout":
            raise httpx.ReadTimeout("conformance: no answer", request=request)
        if mode.startswith("http_"):
            return httpx.Response(int(mode[5:]), json={"message": "conformance"})
        spec = self.answers or getattr(self.platform, "answers", None)
        assert isinstance(spec, AnswerSpec), "set `answers`, or override `answer`"
        body: dict[str, Any] = {}
        if mode == "ok":
            _put(body, spec.success_at or spec.code_at, spec.success)
            _put(body, spec.receipt_at, "CONFORMANCE-RECEIPT-1")
            if spec.duplicate_at:
                _put(body, spec.duplicate_at, False)
        else:
            if spec.success_at:
                _put(body, spec.success_at, "error")
            _put(body, spec.code_at, _code(spec, transient=mode == "busy"))
        _put(body, spec.message_at, "conformance")
        return httpx.Response(200, json=body)

    @contextlib.contextmanager
    def counterpart(self, mode: str) -> Iterator[tuple[Platform[Any], list[bytes]]]:
        """A platform whose counterpart answers in `mode`, and the wire bytes of every request
        it receives (headers, then the body)."""
        wire: list[bytes] = []

        def handle(request: httpx.Request) -> httpx.Response:
            head = "".join(f"{k}: {v}\n" for k, v in request.headers.items())
            wire.append(head.encode() + b"\n" + request.read())
            return self.answer(mode, request)

        platform = self.make(http=httpx.Client(transport=httpx.MockTransport(handle)))
        try:
            yield platform, wire
        finally:
            platform.close()

    def carries_key(self, wire: bytes, key: str) -> bool:
        """Whether one request's wire bytes carry the idempotency key."""
        return key.encode() in wire

    # -- helpers ------------------------------------------------------------------------------

    def payloads(self, key: str = "ph2-conformance") -> list[tuple[str, dict[str, Any]]]:
        """(report, payload) of every sample, mapped as the dispatcher maps it."""
        meta = {"revision": 1, "correction": False, "key": "conformance", "idempotency_key": key}
        out = []
        for report, doc in self.samples.items():
            mapping = load_mapping(self.platform.reports[report].mapping)
            out.append((report, mapping.apply({**doc, "_meta": meta}, record=f"sample {report}")))
        return out

    def outcome(self, mode: str) -> Receipt | DeliveryError:
        report, payload = self.payloads()[0]
        with self.counterpart(mode) as (platform, _):
            try:
                return platform.send(report, payload, f"ph2-conformance-{mode}")
            except DeliveryError as exc:
                return exc

    # -- the suite ----------------------------------------------------------------------------

    def test_declares_its_reports(self) -> None:
        cls = self.platform
        assert isinstance(cls.name, str) and cls.name.isidentifier(), "name: a registry name"
        assert cls.reports, "a platform takes at least one report"
        for name, spec in cls.reports.items():
            assert spec.record_kind in RECORD_TYPES, f"{name}: unknown record kind"
            mapping = load_mapping(spec.mapping)
            assert mapping.spec.record_kind == spec.record_kind, f"{name}: spec kind differs"
            if spec.schema:
                payload_validator(spec.schema)

    def test_config_validates(self) -> None:
        assert self.platform.config_model.model_json_schema().get("type") == "object"
        self.platform.config_model.model_validate(dict(self.config))

    def test_samples_map_to_payloads_that_pass_the_schema(self) -> None:
        assert set(self.samples) == set(self.platform.reports), "one sample for every report"
        for report, doc in self.samples.items():
            spec = self.platform.reports[report]
            RECORD_TYPES[spec.record_kind].model_validate(doc)
            assert spec.accepts(doc), f"{report}: the report's filter refuses its sample"
        for report, payload in self.payloads():
            schema = self.platform.reports[report].schema
            if schema:
                errors = list(payload_validator(schema).iter_errors(payload))
                assert not errors, f"{report}: {errors[0].message}"

    def test_the_idempotency_key_reaches_the_platform(self) -> None:
        for report, payload in self.payloads():
            key = f"ph2-conformance-{report}"
            with self.counterpart("ok") as (platform, wire):
                receipt = platform.send(report, payload, key)
            assert isinstance(receipt, Receipt) and receipt.receipt_id, f"{report}: no receipt"
            assert any(self.carries_key(w, key) for w in wire), f"{report}: the key is not sent"

    def test_transient_failures_are_transient(self) -> None:
        for mode in self.transient_modes:
            outcome = self.outcome(mode)
            assert isinstance(outcome, TransientDeliveryError), f"{mode}: got {outcome!r}"
            assert self.platform.name in str(outcome), f"{mode}: name the platform"

    def test_permanent_failures_are_permanent(self) -> None:
        for mode in self.permanent_modes:
            outcome = self.outcome(mode)
            assert isinstance(outcome, PermanentDeliveryError), f"{mode}: got {outcome!r}"
            assert self.platform.name in str(outcome), f"{mode}: name the platform"
