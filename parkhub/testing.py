"""The conformance kit: prove a vendor adapter or a platform in a few lines of pytest.

    from parkhub.testing import VendorAdapterSuite

    class TestMyVendor(VendorAdapterSuite):
        adapter = MyVendorAdapter
        config = {"base_url": "http://127.0.0.1:8123", "token": "env:MYVENDOR_TOKEN"}
        samples = Path(__file__).parent / "fixtures" / "myvendor"

Sample files are named after the case they exercise. `<stream>.<case>.<ext>` must parse into at
least one record and no error; `<stream>.bad_<case>.<ext>` must give errors (InputError), never
an exception. A `<name>.expected.json` beside a sample pins the exact canonical documents.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, SecretStr

from parkhub.adapters.platforms.base import AnswerSpec, MockPlatform, Platform, Receipt
from parkhub.adapters.vendors.base import ParseResult, RawMessage, SourceContext, VendorAdapter
from parkhub.canonical import RECORD_TYPES, jsonutil
from parkhub.errors import DeliveryError, InputError, PermanentDeliveryError, TransientDeliveryError
from parkhub.mappings.engine import load_mapping
from parkhub.scheduler.platforms import bind_mappings
from parkhub.schemas.loader import payload_validator

__all__ = ["MockPlatform", "PlatformSuite", "VendorAdapterSuite", "load_samples"]


def load_samples(folder: Path) -> list[tuple[str, str, bytes]]:
    """(stream, case, body) for every sample file in `folder` (expected files excluded)."""
    out = []
    for path in sorted(folder.iterdir()):
        if path.is_dir() or path.name.endswith(".expected.json") or path.suffix == ".md":
            continue
        stream, _, case = path.stem.partition(".")
        out.append((stream, case or path.stem, path.read_bytes()))
    return out


def _secret_fields(model: type[BaseModel]) -> list[str]:
    return [
        name
        for name, field in model.model_fields.items()
        if field.annotation is not None and "SecretStr" in str(field.annotation)
    ]


class VendorAdapterSuite:
    """Subclass as `class TestX(VendorAdapterSuite)` and set the three attributes."""

    adapter: ClassVar[type[VendorAdapter[Any]]]
    config: ClassVar[Mapping[str, Any]]
    samples: ClassVar[Path]
    park_id: ClassVar[str] = "conformance-park"

    def make(self) -> VendorAdapter[Any]:
        cfg = self.adapter.config_model.model_validate(dict(self.config))
        return self.adapter(SourceContext(f"{self.adapter.name}-test", self.park_id), cfg)

    def parse(self, stream: str, body: bytes) -> ParseResult:
        raw = RawMessage(
            f"{self.adapter.name}-test",
            stream,
            body,
            received_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
        return self.make().parse_message(raw)

    def test_declares_its_contract(self) -> None:
        cls = self.adapter
        assert isinstance(cls.name, str) and cls.name.isidentifier(), "name: a registry name"
        assert cls.capabilities <= {"pull", "push", "file"}, "capabilities: pull/push/file"
        assert "pull" not in cls.capabilities or cls.streams, "a pulling adapter lists streams"
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
        good = [s for s in load_samples(self.samples) if not s[1].startswith("bad_")]
        assert good, f"no good samples in {self.samples}"
        for stream, case, body in good:
            result = self.parse(stream, body)
            assert not result.errors, f"{stream}.{case}: {[str(e) for e in result.errors]}"
            assert result.records, f"{stream}.{case}: no records"
            for rec in result.records:
                assert rec.kind in RECORD_TYPES
                RECORD_TYPES[rec.kind].model_validate(rec.document())
                assert rec.park_id == self.park_id
            expected = self.samples / f"{stream}.{case}.expected.json"
            if expected.exists():
                docs = [r.document() for r in result.records]
                assert docs == jsonutil.loads(expected.read_bytes()), f"{stream}.{case}"

    def test_parsing_is_deterministic(self) -> None:
        for stream, case, body in load_samples(self.samples):
            first, second = self.parse(stream, body), self.parse(stream, body)
            assert [r.document_json() for r in first.records] == [
                r.document_json() for r in second.records
            ], f"{stream}.{case}: the same input must give the same records (idempotency)"
            assert [(r.kind, r.key) for r in first.records] == [
                (r.kind, r.key) for r in second.records
            ]

    def test_bad_samples_give_errors_not_exceptions(self) -> None:
        for stream, case, body in load_samples(self.samples):
            if case.startswith("bad_"):
                result = self.parse(stream, body)
                assert result.errors, f"{stream}.{case}: a bad sample must give an InputError"
                for err in result.errors:
                    assert isinstance(err, InputError) and err.source and err.reason

    def test_garbage_never_raises(self) -> None:
        streams = self.adapter.streams or ("push",)
        for body in (b"", b"\x00\xff", b"{", b"[]", b"null", b'{"data": 1}', "中文".encode()):
            for stream in streams:
                result = self.parse(stream, body)
                assert isinstance(result, ParseResult)


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
