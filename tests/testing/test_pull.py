"""The pull suite proves a built-in Python vendor (Qisheng, against its simulator) as it proves
YAML vendors, and fails an adapter that breaks each thing it checks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any, ClassVar

import pytest

from parkhub.adapters.vendors.base import RawBatch
from parkhub.adapters.vendors.qisheng import QishengAdapter
from parkhub.adapters.vendors.rest import RestAdapter
from parkhub.errors import PermanentSourceError, SourceError
from parkhub.sandbox.qisheng_sim import QishengSim
from parkhub.sandbox.smartpark_sim import DEMO_KEY, DEMO_SECRET, SmartParkSim
from parkhub.testing import PullSuite, loopback
from tests.adapters.vendors.rest.conftest import FULL, spec_of


class TestQishengPulls(PullSuite):
    """A Python vendor written before the kit had a pull suite passes it as it is."""

    adapter = QishengAdapter
    config: ClassVar[dict[str, Any]] = {
        "app_id": "demo-app",
        "app_secret": "env:KIT_QISHENG_SECRET",
        "reading_batch": 100,  # several pages of readings
    }
    bad_credentials: ClassVar[dict[str, Any]] = {"app_secret": "env:KIT_WRONG_SECRET"}
    business_error: ClassVar[dict[str, Any]] = {"code": 40001, "msg": "参数错误"}

    @pytest.fixture(autouse=True)
    def _secret(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("KIT_QISHENG_SECRET", "demo-secret")

    def fake_vendor(self) -> Any:
        sim = QishengSim()

        def add_records() -> None:
            for day in range(1, 4):
                sim.add_reading(meter="DB-NEW", credit=None, read_time=f"2026-11-0{day} 00:00:00",
                                value=10.0 + day)  # fmt: skip

        return loopback(sim.app, add_records)


class _Smartpark(PullSuite):
    """The full smart-park spec; subclasses break one thing each."""

    adapter = RestAdapter
    config: ClassVar[dict[str, Any]] = {
        "spec": str(FULL),
        "app_key": DEMO_KEY,
        "app_secret": "env:KIT_SP_SECRET",
    }
    bad_credentials: ClassVar[dict[str, Any]] = {"app_secret": "env:KIT_WRONG_SECRET"}
    business_error: ClassVar[dict[str, Any]] = {"code": 40001, "msg": "参数错误"}

    @pytest.fixture(autouse=True)
    def _secret(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        monkeypatch.setenv("KIT_SP_SECRET", DEMO_SECRET)
        yield

    def fake_vendor(self) -> Any:
        sim = SmartParkSim()
        return loopback(sim.app, lambda: sim.add_readings(5))


def _run(suite: type[PullSuite], test: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIT_SP_SECRET", DEMO_SECRET)
    getattr(suite(), test)()


def test_the_kit_passes_the_full_smartpark_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    for test in [n for n in dir(PullSuite) if n.startswith("test_")]:
        _run(_Smartpark, test, monkeypatch)


def test_the_kit_catches_a_pull_that_ignores_its_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    class Forgetful(RestAdapter):
        def pull(self, stream: str, cursor: str | None) -> Iterator[RawBatch]:
            return super().pull(stream, None)

    class Suite(_Smartpark):
        adapter = Forgetful

    with pytest.raises(AssertionError, match=r"read \d+ of the first pull's \d+ records again"):
        _run(Suite, "test_pull_resumes_from_the_cursor", monkeypatch)


def test_the_kit_catches_a_pull_that_never_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_of()
    for stream in spec["streams"].values():
        stream["paging"] = {"type": "none"}

    class Suite(_Smartpark):
        config: ClassVar[dict[str, Any]] = {**_Smartpark.config, "spec": spec}

    with pytest.raises(AssertionError, match="no stream took more than one page"):
        _run(Suite, "test_pull_pages_through_every_stream", monkeypatch)


def test_the_kit_catches_a_pull_that_crashes_on_a_5xx(monkeypatch: pytest.MonkeyPatch) -> None:
    class Crashing(RestAdapter):
        def pull(self, stream: str, cursor: str | None) -> Iterator[RawBatch]:
            try:
                yield from super().pull(stream, cursor)
            except SourceError as exc:
                raise KeyError("status") from exc

    class Suite(_Smartpark):
        adapter = Crashing

    with pytest.raises(AssertionError, match=r"pull raised KeyError.*must be a SourceError"):
        _run(Suite, "test_a_vendor_that_stays_down_stops_the_pull_as_transient", monkeypatch)


def test_the_kit_catches_a_5xx_called_permanent(monkeypatch: pytest.MonkeyPatch) -> None:
    class Gloomy(RestAdapter):
        def pull(self, stream: str, cursor: str | None) -> Iterator[RawBatch]:
            try:
                yield from super().pull(stream, cursor)
            except SourceError as exc:
                raise PermanentSourceError(str(exc)) from exc

    class Suite(_Smartpark):
        adapter = Gloomy

    with pytest.raises(AssertionError, match="http_503: PermanentSourceError"):
        _run(Suite, "test_a_vendor_that_stays_down_stops_the_pull_as_transient", monkeypatch)


def test_the_kit_catches_a_business_error_that_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    class Suite(_Smartpark):
        config: ClassVar[dict[str, Any]] = {
            **_Smartpark.config,
            "spec": spec_of(errors={"transient": [40001, 50001], "auth": [40101]}),
        }

    with pytest.raises(AssertionError, match="permanent: TransientSourceError"):
        _run(Suite, "test_a_business_error_stops_the_pull_unretried", monkeypatch)


def test_the_kit_catches_a_check_that_calls_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    class Idle(RestAdapter):
        def check(self) -> None:
            return None

    class Suite(_Smartpark):
        adapter = Idle

    with pytest.raises(AssertionError, match="check\\(\\) made 0 requests"):
        _run(Suite, "test_check_makes_one_live_call", monkeypatch)


def test_the_kit_catches_credentials_refused_as_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    class Suite(_Smartpark):
        config: ClassVar[dict[str, Any]] = {
            **_Smartpark.config,
            "spec": spec_of(errors={"transient": [50001, 40101]}),  # auth code called busy
        }

    with pytest.raises(AssertionError, match="refused credentials are permanent"):
        _run(Suite, "test_refused_credentials_stop_the_pull_as_permanent", monkeypatch)


def test_a_suite_without_a_fake_says_what_to_write() -> None:
    class Suite(PullSuite):
        adapter = RestAdapter
        config: ClassVar[dict[str, Any]] = {}

    with pytest.raises(AssertionError, match=r"write fake_vendor\(\)"):
        Suite().test_pull_pages_through_every_stream()


def test_the_kit_catches_a_cursor_that_runs_ahead_of_its_pages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Eager(RestAdapter):
        """Saves the vendor's newest id with every page, not the newest id of the page."""

        def pull(self, stream: str, cursor: str | None) -> Iterator[RawBatch]:
            for batch in super().pull(stream, cursor):
                yield replace(batch, next_cursor="999999") if stream == "readings" else batch

    spec = spec_of(retry={"attempts": 1})
    spec["streams"] = {"readings": spec["streams"].pop("readings"), **spec["streams"]}

    class Suite(_Smartpark):
        adapter = Eager
        config: ClassVar[dict[str, Any]] = {**_Smartpark.config, "spec": spec}

    # 120 readings after the first page, less the one bad reading that makes no record
    with pytest.raises(AssertionError, match=r"http_503: 119 records lost"):
        _run(Suite, "test_a_transient_failure_loses_nothing", monkeypatch)
