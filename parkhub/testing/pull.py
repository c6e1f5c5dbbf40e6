"""The pull suite: prove a pulling adapter against a fake vendor, as a sync runs it.

    from parkhub.testing import PullSuite, VendorAdapterSuite, loopback

    class TestAcme(VendorAdapterSuite, PullSuite):
        adapter = AcmeAdapter
        config = {"token": "env:ACME_TOKEN"}             # base_url: the fake's
        samples = Path(__file__).parent / "fixtures"
        bad_credentials = {"token": "env:ACME_WRONG_TOKEN"}
        business_error = {"code": 40001, "msg": "参数错误"}

        def fake_vendor(self):
            fake = AcmeFake()                            # an ASGI app with data
            return loopback(fake.app, fake.add_records)

Between the adapter and the fake sits `Faults`, an httpx transport that passes requests on or
fails the ones the suite plans: HTTP 503 and 429, timeouts, the vendor's business error. The
suite pulls as a sync does (every stream, each page's cursor kept as the store keeps it, the
source stopped at its first SourceError) and checks: paging (some stream takes more than one
page), resuming from the cursor, that a transient failure loses nothing (the next sync resumes)
and is no PermanentSourceError, that refused credentials and a business error stop the pull as
permanent without retrying, and that `check()` makes one live call.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import httpx

from parkhub.adapters.vendors.base import VendorAdapter
from parkhub.errors import InputError, PermanentSourceError, SourceError, TransientSourceError
from parkhub.sandbox.server import serve_in_thread

from .samples import AdapterCase


class FakeVendor(Protocol):
    """A stand-in for the vendor's API on 127.0.0.1."""

    @property
    def url(self) -> str:
        """Where it serves (the adapter's `base_url`)."""
        ...

    def add_records(self) -> None:
        """New data in its streams, after everything there is (a resumed pull finds it)."""
        ...


@dataclass(frozen=True)
class Loopback:
    """An ASGI app served on 127.0.0.1 as a fake vendor."""

    url: str
    add: Callable[[], None]

    def add_records(self) -> None:
        self.add()


@contextlib.contextmanager
def loopback(app: Any, add_records: Callable[[], None] = lambda: None) -> Iterator[Loopback]:
    """Serve the ASGI app `app` (Starlette, FastAPI) on a free port of 127.0.0.1 in a thread,
    a real HTTP server, until the block ends."""
    with serve_in_thread(app) as handle:
        yield Loopback(handle.url, add_records)


class Faults(httpx.BaseTransport):
    """An httpx transport that passes requests on to the fake, or fails those planned:
    `http_<status>`, `timeout`, `disconnect`, or an answer in HTTP 200 from `bodies`."""

    def __init__(self, bodies: Mapping[str, Any]) -> None:
        self.inner = httpx.HTTPTransport()
        self.bodies = dict(bodies)
        self.sent = 0
        self.plan: dict[int, str] = {}
        self.always: str | None = None

    def fail(self, mode: str, *, at: int | None = None) -> None:
        """Fail request number `at` (counted from the first this transport saw), or all."""
        if at is None:
            self.always = mode
        else:
            self.plan[at] = mode

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        mode = self.plan.pop(self.sent, None) or self.always
        if mode is None:
            return self.inner.handle_request(request)
        if mode == "timeout":
            raise httpx.ReadTimeout("kit: the vendor did not answer in time", request=request)
        if mode == "disconnect":
            raise httpx.ConnectError("kit: the vendor closed the connection", request=request)
        if mode.startswith("http_"):
            status = int(mode[5:])
            return httpx.Response(status, json={"message": "kit"}, request=request)
        return httpx.Response(200, json=self.bodies[mode], request=request)

    def close(self) -> None:
        self.inner.close()


@dataclass
class Pulled:
    """What one sync of a source made: records by (kind, key), pages per stream, the errors of
    bad records, the failure that stopped it and the cursors after it."""

    records: dict[tuple[str, str], bytes] = field(default_factory=dict)
    pages: Counter[str] = field(default_factory=Counter)
    errors: list[InputError] = field(default_factory=list)
    failure: SourceError | None = None
    cursors: dict[str, str | None] = field(default_factory=dict)


def pull_all(adapter: VendorAdapter[Any], cursors: Mapping[str, str | None]) -> Pulled:
    """Pull every stream from `cursors` as a sync does: each page's cursor kept with it, the
    source stopped at its first SourceError. Any other exception is an adapter bug."""
    out = Pulled(cursors=dict(cursors))
    try:
        for stream in adapter.pull_streams():
            for batch in adapter.pull(stream, out.cursors.get(stream)):
                parsed = adapter.parse_message(batch.message)
                out.records.update(((r.kind, r.key), r.document_json()) for r in parsed.records)
                out.errors.extend(parsed.errors)
                out.cursors[stream] = batch.next_cursor
                out.pages[stream] += 1
    except SourceError as exc:
        out.failure = exc
    except Exception as exc:  # the kit reports what a sync would crash on
        raise AssertionError(
            f"pull raised {type(exc).__name__}: {exc}; a vendor failure must be a SourceError"
        ) from exc
    return out


Make = Callable[..., VendorAdapter[Any]]


class PullSuite(AdapterCase):
    """Subclass with VendorAdapterSuite; set `bad_credentials`, `business_error` and write
    `fake_vendor()`."""

    bad_credentials: ClassVar[Mapping[str, Any] | None] = None
    """Config keys (over `config`) with credentials the fake refuses."""
    business_error: ClassVar[Any] = None
    """The vendor's answer (JSON, in HTTP 200) for a permanent business error."""
    busy_error: ClassVar[Any] = None
    """The vendor's answer for a transient business code (busy, rate limited), if it has one."""
    transient_faults: ClassVar[tuple[str, ...]] = ("http_503", "http_429", "timeout")

    def fake_vendor(self) -> contextlib.AbstractContextManager[FakeVendor]:
        """The fake vendor, served until the block ends: `return loopback(app, add_records)`."""
        raise AssertionError(
            "write fake_vendor(): a fake of the vendor's API (parkhub.testing.loopback(app))"
        )

    def config_for(self, fake: FakeVendor) -> dict[str, Any]:
        """The adapter's config against `fake` (default: `config` with `base_url` = its URL)."""
        return {**self.config, "base_url": fake.url}

    @contextlib.contextmanager
    def session(self) -> Iterator[tuple[FakeVendor, Faults, Make]]:
        """A fake vendor, the fault transport before it, and a maker of adapters on it."""
        bodies = {"business_error": self.business_error, "busy": self.busy_error}
        with self.fake_vendor() as fake:
            faults = Faults(bodies)
            http = httpx.Client(transport=faults)

            def make(overrides: Mapping[str, Any] | None = None) -> VendorAdapter[Any]:
                return self.make({**self.config_for(fake), **(overrides or {})}, http=http)

            try:
                yield fake, faults, make
            finally:
                http.close()

    # -- the suite ----------------------------------------------------------------------------

    def test_pull_pages_through_every_stream(self) -> None:
        with self.session() as (_, _, make):
            run = pull_all(make(), {})
        assert run.failure is None, f"a pull from the fake failed: {run.failure}"
        assert run.records, "the pull made no records: give the fake data in every stream"
        assert max(run.pages.values()) > 1, (
            f"no stream took more than one page ({dict(run.pages)}): give the fake more than a "
            "page of data in one stream, so that paging is proven"
        )
        for err in run.errors:  # a bad record fails alone, named
            assert err.source and err.record and err.reason, err

    def test_pull_resumes_from_the_cursor(self) -> None:
        with self.session() as (fake, _, make):
            adapter = make()
            first = pull_all(adapter, {})
            fake.add_records()
            second = pull_all(adapter, first.cursors)
        assert first.failure is None and second.failure is None, first.failure or second.failure
        new = second.records.keys() - first.records.keys()
        again = second.records.keys() & first.records.keys()
        assert new, "the next pull found none of the records the fake added after the first"
        assert len(again) < len(first.records), (
            f"the next pull read {len(again)} of the first pull's {len(first.records)} records "
            "again: does pull resume from its cursor?"
        )

    def _faults(self) -> tuple[str, ...]:
        return (*self.transient_faults, *(("busy",) if self.busy_error is not None else ()))

    def test_a_transient_failure_loses_nothing(self) -> None:
        """A 5xx, a 429, a timeout (a busy code) mid-pull: retried, or the pull stops with a
        transient SourceError and the next sync resumes; either way every record arrives."""
        for mode in self._faults():
            with self.session() as (_, faults, make):
                adapter = make()
                whole = pull_all(adapter, {})
                faults.fail(mode, at=faults.sent + 2)  # the next pull's second request
                broken = pull_all(adapter, {})
                resumed = pull_all(adapter, broken.cursors)  # the next sync
            failure = broken.failure
            assert not isinstance(failure, PermanentSourceError), f"{mode}: {failure!r}"
            assert failure is None or adapter.source.name in str(failure), f"{mode}: {failure}"
            assert resumed.failure is None, f"{mode}: the next sync failed: {resumed.failure}"
            missing = whole.records.keys() - {*broken.records, *resumed.records}
            assert not missing, f"{mode}: {len(missing)} records lost, e.g. {min(missing)}"

    def test_a_vendor_that_stays_down_stops_the_pull_as_transient(self) -> None:
        for mode in self._faults():
            with self.session() as (_, faults, make):
                faults.fail(mode)
                run = pull_all(make(), {})
            assert isinstance(run.failure, SourceError), f"{mode}: the pull did not fail"
            assert not isinstance(run.failure, PermanentSourceError), f"{mode}: {run.failure!r}"
            assert not run.records, f"{mode}: records from nowhere"

    def test_refused_credentials_stop_the_pull_as_permanent(self) -> None:
        assert self.bad_credentials is not None, "set bad_credentials: keys the fake refuses"
        with self.session() as (_, _, make):
            adapter = make(self.bad_credentials)
            run = pull_all(adapter, {})
            checked = _failure(adapter.check)
        assert isinstance(run.failure, SourceError), "a pull with refused credentials went on"
        assert not isinstance(run.failure, TransientSourceError), (
            f"refused credentials are permanent (retrying will not help): {run.failure!r}"
        )
        assert not run.records
        assert isinstance(checked, SourceError), "check() passes with refused credentials"

    def test_a_business_error_stops_the_pull_unretried(self) -> None:
        assert self.business_error is not None, "set business_error: the vendor's answer"
        with self.session() as (_, faults, make):
            adapter = make()
            faults.fail("business_error")
            run = pull_all(adapter, {})
        failure = run.failure
        assert isinstance(failure, SourceError), "a business error inside HTTP 200 went unseen"
        assert not isinstance(failure, TransientSourceError), f"permanent: {failure!r}"
        assert adapter.source.name in str(failure), f"name the source: {failure}"
        assert faults.sent == 1, f"a business error was retried ({faults.sent} requests)"

    def test_check_makes_one_live_call(self) -> None:
        with self.session() as (_, faults, make):
            make().check()
            calls = faults.sent
            faults.fail("http_503")
            down = _failure(make().check)
        assert 1 <= calls <= 2, f"check() made {calls} requests: one live call (and a token)"
        assert isinstance(down, SourceError), f"check() passes while the vendor is down: {down}"


def _failure(call: Callable[[], object]) -> Exception | None:
    try:
        call()
    except Exception as exc:  # the caller asserts which
        return exc
    return None
