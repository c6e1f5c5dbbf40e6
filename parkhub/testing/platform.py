"""The platform suite: prove a platform's reports (record kinds, mapping specs, payload
schemas), that the idempotency key reaches the platform, and that failures are classified.

    from parkhub.testing import PlatformSuite

    class TestDept(PlatformSuite):
        platform = DeptPlatform
        config = {"base_url": "http://127.0.0.1:9", "token": "env:DEPT_TOKEN"}
        samples = {"monthly": {...a canonical document the report takes...}}
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import httpx

from parkhub.adapters.platforms.base import AnswerSpec, Platform, Receipt
from parkhub.canonical import RECORD_TYPES
from parkhub.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from parkhub.mappings.engine import load_mapping
from parkhub.scheduler.platforms import bind_mappings
from parkhub.schemas.loader import payload_validator

from .samples import placeholder_secrets


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
        data = {**self.config, **config}
        with placeholder_secrets(data):
            cfg = self.platform.config_model.model_validate(data)
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
        with placeholder_secrets(self.config):
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
