"""The vendor suite: prove a vendor adapter's contract, its parsing of real captured messages
and, where it takes pushes, that forged, replayed and stale pushes do no harm.

    from parkhub.testing import VendorAdapterSuite

    class TestMyVendor(VendorAdapterSuite):
        adapter = MyVendorAdapter
        config = {"base_url": "http://127.0.0.1:8123", "token": "env:MYVENDOR_TOKEN"}
        samples = Path(__file__).parent / "fixtures" / "myvendor"

Sample files are named after the case they exercise. `<stream>.<case>.<ext>` must parse into at
least one record and no error; `<stream>.bad_<case>.<ext>` must give errors (InputError), never
an exception. A `<stem>.expected.json` beside a sample pins the exact canonical documents (`[]`
for a message that rightly makes none). Files named `<case>.<ext>` alone are samples of
`sample_stream`. A push adapter adds `forged_config` (the config with other push credentials),
`stale_push` (a push signed long ago) and, when its credentials travel outside the body,
`push_query`. A pulling adapter adds `PullSuite` (parkhub.testing.pull).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, SecretStr

from parkhub.adapters.vendors.base import (
    ListenerMessage,
    ParseResult,
    PushRequest,
    PushVerdict,
    RawMessage,
    VendorAdapter,
)
from parkhub.canonical import RECORD_TYPES, jsonutil
from parkhub.errors import InputError

from .samples import AdapterCase, Sample, load_samples

CAPABILITIES = frozenset({"pull", "push", "listen", "file"})
HTTP_METHODS = frozenset({"GET", "POST", "PUT"})


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


class VendorAdapterSuite(AdapterCase):
    """Subclass as `class TestX(VendorAdapterSuite)` and set `adapter`, `config`, `samples`."""

    samples: ClassVar[Path]
    """The folder of sample files."""
    sample_stream: ClassVar[str | None] = None
    """The stream of sample files named `<case>.<ext>`, without a stream."""
    forged_config: ClassVar[Mapping[str, Any] | None] = None
    """Push adapters: `config` with other push credentials; a push made for `config` must be
    refused by an adapter with these."""
    push_query: ClassVar[Mapping[str, str]] = {}
    """Push adapters: the query a genuine push carries (e.g. a token), for `push_request`."""
    foreign_samples: ClassVar[frozenset[str]] = frozenset()
    """Push samples captured with credentials we do not hold: parsed, never verified."""
    fresh_config: ClassVar[Mapping[str, Any] | None] = None
    """Push adapters: the config a stale push is refused under (default: `config`), when the
    suite's `config` turns the freshness check off for old captured samples."""
    pushes_carry_no_time: ClassVar[bool] = False
    """Push adapters whose vendor sends no time with a push (nothing can be stale): say so
    here instead of writing `stale_push`."""

    def parse(self, stream: str, body: bytes, decoded: Any = None) -> ParseResult:
        raw = RawMessage(
            self.source.name,
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

    def stale_push(self, body: bytes) -> PushRequest | None:
        """A push the vendor made long ago (a day, say) with the genuine credentials: it must
        be refused as a replay. Return None only with `pushes_carry_no_time`."""
        return None

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
            assert self.make().pull_streams(), "a pulling adapter lists streams"
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
        streams = {*self.make().pull_streams(), *(s.stream for s in self.all_samples())}
        streams = streams or {"push"}
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

    def test_a_replayed_push_is_harmless(self) -> None:
        """The same push twice (a vendor sends again when an answer was lost): refused the
        second time, or accepted with the very same records, which the store keeps once."""
        if "push" not in self.adapter.capabilities:
            return
        adapter = self.make()
        for sample in self._pushes():
            first = adapter.verify_push(self.push_request(sample.body))
            again = adapter.verify_push(self.push_request(sample.body))
            name = sample.path.name
            assert first.accept, f"{name}: a genuine push is refused: {first.reason}"
            if not again.accept:
                assert again.status_code in (401, 403, 409), f"{name}: {again.status_code}"
                continue
            assert _summary(self._parsed(again, sample)) == _summary(self._parsed(first, sample)), (
                f"{name}: a replayed push must make the same records (the store keeps them once)"
            )

    def _parsed(self, verdict: PushVerdict, sample: Sample) -> ParseResult:
        return self.parse(verdict.stream, sample.body, verdict.decoded)

    def test_a_stale_push_is_refused(self) -> None:
        """A push signed long ago is a replay an attacker kept: refused, never parsed."""
        if "push" not in self.adapter.capabilities:
            return
        pushes = self._pushes()
        request = self.stale_push(pushes[0].body) if pushes else None
        if request is None:
            assert self.pushes_carry_no_time, (
                "write stale_push(body): a push with the genuine credentials made long ago; or "
                "set pushes_carry_no_time = True if the vendor sends no time with a push"
            )
            return
        adapter = self.make(self.fresh_config)
        parsed: list[RawMessage] = []
        adapter.parse = parsed.append  # type: ignore[method-assign,assignment]
        verdict = adapter.verify_push(request)
        assert not verdict.accept, "a stale push is accepted"
        assert verdict.status_code in (401, 403), f"stale push: {verdict.status_code}"
        assert verdict.reason and verdict.decoded is None and not parsed

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
