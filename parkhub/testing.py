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
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, SecretStr

from parkhub.adapters.platforms.base import Platform
from parkhub.adapters.vendors.base import (
    ListenerMessage,
    ParseResult,
    PushRequest,
    RawMessage,
    SourceContext,
    VendorAdapter,
)
from parkhub.canonical import RECORD_TYPES, jsonutil
from parkhub.errors import InputError
from parkhub.mappings.engine import load_mapping

__all__ = ["PlatformSuite", "Sample", "VendorAdapterSuite", "load_samples"]

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


class PlatformSuite:
    """Subclass as `class TestY(PlatformSuite)`; set `platform` and `config`.

    Set `samples` (report -> canonical document) to check each report's mapping against its
    payload schema without sending anything.
    """

    platform: ClassVar[type[Platform[Any]]]
    config: ClassVar[Mapping[str, Any]]
    samples: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    def test_declares_its_reports(self) -> None:
        cls = self.platform
        assert cls.reports, "a platform takes at least one report"
        for name, spec in cls.reports.items():
            assert spec.record_kind in RECORD_TYPES, f"{name}: unknown record kind"
            mapping = load_mapping(spec.mapping)
            assert mapping.spec.record_kind == spec.record_kind, f"{name}: spec kind differs"

    def test_config_validates(self) -> None:
        self.platform.config_model.model_validate(dict(self.config))

    def test_sample_payloads_match_the_schema(self) -> None:
        from parkhub.schemas.loader import payload_validator

        for report, doc in self.samples.items():
            spec = self.platform.reports[report]
            payload = load_mapping(spec.mapping).apply(
                {**doc, "_meta": {"revision": 1, "correction": False}}
            )
            if spec.schema:
                errors = list(payload_validator(spec.schema).iter_errors(payload))
                assert not errors, f"{report}: {errors[0].message}"
