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

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, SecretStr

from parkhub.adapters.platforms.base import Platform
from parkhub.adapters.vendors.base import ParseResult, RawMessage, SourceContext, VendorAdapter
from parkhub.canonical import RECORD_TYPES, jsonutil
from parkhub.errors import InputError
from parkhub.mappings.engine import load_mapping

__all__ = ["PlatformSuite", "VendorAdapterSuite", "load_samples"]


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
