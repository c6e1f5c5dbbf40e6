"""The conformance kit (parkhub.testing) run on the built-in adapters, as an integrator would."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, cast

import httpx
import pytest
from parkhub_example_plugin.vendors import AcmePushAdapter

from parkhub.adapters.platforms.base import Platform
from parkhub.adapters.platforms.ecology import EcologyPlatform, delivery_qn
from parkhub.adapters.platforms.econ import EconPlatform
from parkhub.adapters.platforms.fire import FirePlatform
from parkhub.adapters.platforms.provincial import ProvincialPlatform
from parkhub.adapters.platforms.safety import SafetyPlatform
from parkhub.adapters.platforms.stats import UPLOAD_ANSWERS, StatsPlatform
from parkhub.adapters.vendors.base import Parsed, PushRequest, RawMessage
from parkhub.adapters.vendors.ctwing import CtwingAdapter
from parkhub.adapters.vendors.hj212 import Hj212Adapter
from parkhub.adapters.vendors.manual import ManualAdapter
from parkhub.adapters.vendors.onenet import OneNetAdapter
from parkhub.adapters.vendors.qisheng import QishengAdapter
from parkhub.canonical.timeutil import SHANGHAI
from parkhub.protocols import econ as econ_proto
from parkhub.protocols import fire as fire_proto
from parkhub.protocols.hj212 import parse_frame
from parkhub.sandbox.hj212_platform import Hj212PlatformThread, Mode
from parkhub.sandbox.onenet_sim import DEMO_TOKEN, STUDIO_PROPERTY, studio_body
from parkhub.testing import PlatformSuite, VendorAdapterSuite
from tests.helpers import FIXTURES

SECRET = "not-a-real-secret"


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFORMANCE_SECRET", SECRET)
    monkeypatch.setenv("CONFORMANCE_ONENET_TOKEN", DEMO_TOKEN)  # the fixtures are signed with it


class TestQisheng(VendorAdapterSuite):
    adapter = QishengAdapter
    config: ClassVar[dict[str, Any]] = {
        "base_url": "http://127.0.0.1:9",
        "app_id": "a",
        "app_secret": "env:CONFORMANCE_SECRET",
    }
    samples = FIXTURES / "qisheng"


def golden(case: str) -> dict[str, Any]:
    """A golden canonical document (tests/fixtures/golden) without the dispatcher's `_meta`."""
    doc = json.loads((FIXTURES / "golden" / f"{case}.canonical.json").read_text("utf-8"))
    return {k: v for k, v in doc.items() if k != "_meta"}


class TestOneNet(VendorAdapterSuite):
    adapter = OneNetAdapter
    # the captured Studio pushes are years old: no freshness check on samples
    config: ClassVar[dict[str, Any]] = {
        "token": "env:CONFORMANCE_ONENET_TOKEN",
        "push_max_age_s": None,
    }
    forged_config: ClassVar[dict[str, Any]] = {**config, "token": "env:CONFORMANCE_SECRET"}
    samples = FIXTURES / "onenet"
    sample_stream = "push"
    foreign_samples = frozenset({"old_push_nb_lwm2m"})  # signed with a token we do not hold
    fresh_config: ClassVar[dict[str, Any]] = {**config, "push_max_age_s": 300}

    def stale_push(self, body: bytes) -> PushRequest:
        """A Studio push signed with our token a day ago (Studio pushes carry their time)."""
        day_ago = int((time.time() - 86400) * 1000)
        return self.push_request(studio_body(DEMO_TOKEN, STUDIO_PROPERTY, time_ms=day_ago))


class TestCtwing(VendorAdapterSuite):
    adapter = CtwingAdapter
    config: ClassVar[dict[str, Any]] = {"push_token": "env:CONFORMANCE_SECRET"}
    forged_config: ClassVar[dict[str, Any]] = {"push_token": "env:CONFORMANCE_ONENET_TOKEN"}
    push_query: ClassVar[dict[str, str]] = {"token": SECRET}
    samples = FIXTURES / "ctwing"
    sample_stream = "push"
    pushes_carry_no_time = True  # the URL token is the only credential of a CTWing push


class TestHj212(VendorAdapterSuite):
    adapter = Hj212Adapter
    # loggers of the HJ/T 212-2005 era are in the samples: a park with such loggers runs tolerant
    config: ClassVar[dict[str, Any]] = {"port": 0, "tolerant": True}
    samples = FIXTURES / "hj212"
    sample_stream = "frame"

    def sample_bytes(self, path: Path) -> bytes:
        """The files hold one frame without its CR LF (but for the case of a missing one)."""
        body = path.read_bytes().rstrip(b"\r\n")
        return body if path.stem == "missing_crlf" else body + b"\r\n"


class TestAcmePlugin(VendorAdapterSuite):
    """What a third party writes for a push adapter of its own package."""

    adapter = AcmePushAdapter
    config: ClassVar[dict[str, Any]] = {"key": "env:CONFORMANCE_SECRET"}
    forged_config: ClassVar[dict[str, Any]] = {"key": "env:CONFORMANCE_ONENET_TOKEN"}
    samples = FIXTURES / "acme"
    pushes_carry_no_time = True  # a shared key, no time

    def push_request(self, body: bytes) -> PushRequest:
        request = super().push_request(body)
        return replace(request, headers={**request.headers, "x-acme-key": SECRET})


class TestManual(VendorAdapterSuite):
    adapter = ManualAdapter
    config: ClassVar[dict[str, Any]] = {}
    samples = FIXTURES / "entry"
    park_id = "wz-lc-0001"  # the templates belong to this park


class TestProvincial(PlatformSuite):
    platform = ProvincialPlatform
    config: ClassVar[dict[str, Any]] = {
        "base_url": "http://127.0.0.1:9",
        "app_key": "k",
        "app_secret": "env:CONFORMANCE_SECRET",
    }
    samples: ClassVar[dict[str, dict[str, Any]]] = {
        "park_monthly": golden("park_monthly_2026-10"),
        "enterprise_roster": golden("enterprise_above_scale"),
    }


class TestEcon(PlatformSuite):
    platform = EconPlatform
    config: ClassVar[dict[str, Any]] = {
        "base_url": "http://127.0.0.1:9",
        "client_id": "c",
        "client_secret": "env:CONFORMANCE_SECRET",
    }
    samples: ClassVar[dict[str, dict[str, Any]]] = {
        "enterprise_monthly": golden("econ_enterprise_monthly_2026-10"),
        "park_monthly": golden("econ_park_monthly_2026-10"),
    }

    def answer(self, mode: str, request: httpx.Request) -> httpx.Response:
        if request.url.path == econ_proto.TOKEN_PATH:  # the token exchange always succeeds
            data = {"accessToken": "conformance-token", "expiresIn": 7200}
            return httpx.Response(200, json={"code": econ_proto.SUCCESS, "data": data})
        return super().answer(mode, request)


class TestSafety(PlatformSuite):
    platform = SafetyPlatform
    config: ClassVar[dict[str, Any]] = {
        "base_url": "http://127.0.0.1:9",
        "api_key": "k",
        "api_secret": "env:CONFORMANCE_SECRET",
    }
    samples: ClassVar[dict[str, dict[str, Any]]] = {"hazards": golden("safety_hidden_danger_open")}


class TestFire(PlatformSuite):
    platform = FirePlatform
    config: ClassVar[dict[str, Any]] = {
        "base_url": "http://127.0.0.1:9",
        "api_key": "env:CONFORMANCE_SECRET",
    }
    samples: ClassVar[dict[str, dict[str, Any]]] = {"fire_events": golden("fire_fire_alarm")}


class TestStats(PlatformSuite):
    """The workbook goes to a fresh folder; the optional upload to the mock transport."""

    platform = StatsPlatform
    config: ClassVar[dict[str, Any]] = {
        "export_dir": "(a fresh folder per test)",
        "upload_url": "http://127.0.0.1:9/upload",
        "upload_token": "env:CONFORMANCE_SECRET",
    }
    samples: ClassVar[dict[str, dict[str, Any]]] = {
        "enterprise_monthly": golden("stats_enterprise_monthly_2026-10")
    }
    answers = UPLOAD_ANSWERS

    @pytest.fixture(autouse=True)
    def _export_dir(self, tmp_path: Path) -> None:
        self.config = {**TestStats.config, "export_dir": str(tmp_path)}


class TestEcology(PlatformSuite):
    """HJ 212 over TCP: the counterpart is the loopback ecology platform simulator, and the key
    reaches it as the frame's QN (the platform dedups on MN + QN + CN)."""

    platform = EcologyPlatform
    config: ClassVar[dict[str, Any]] = {
        "host": "127.0.0.1",
        "port": 9,
        "timeout_seconds": 0.3,
        "retries": 0,
        "devices": {"ww-outlet-1": {"mn": "33030200ECO00001", "password": "env:CONFORMANCE_PW"}},
    }
    samples: ClassVar[dict[str, dict[str, Any]]] = {
        "monitoring_data": {
            "park_id": "wz-lc-0001",
            "device_id": "ww-outlet-1",
            "ts": "2026-11-01T00:05:00Z",
            "period": "minute",
            "system_code": "32",
            "factors": {"w01018": {"Avg": "23.5", "Flag": "N"}},
        }
    }
    transient_modes = ("drop", "close")  # no answer; the connection closed
    permanent_modes = ("refuse",)  # 9011 QnRtn 3: wrong password

    @pytest.fixture(autouse=True)
    def _password(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CONFORMANCE_PW", "123456")  # HJ 212: at most 6 characters

    @contextlib.contextmanager
    def counterpart(self, mode: str) -> Iterator[tuple[Platform[Any], list[bytes]]]:
        with Hj212PlatformThread() as sim:
            if mode != "ok":
                sim.set_mode(cast(Mode, mode), qn_rtn=3)
            platform = self.make(port=sim.port)
            try:
                yield platform, sim.platform.raw
            finally:
                platform.close()

    def carries_key(self, wire: bytes, key: str) -> bool:
        frame = parse_frame(wire)
        data_time = dt.datetime.strptime(frame.cp.values["DataTime"], "%Y%m%d%H%M%S")
        return frame.qn == delivery_qn(data_time.replace(tzinfo=SHANGHAI), key)


def test_the_kit_catches_a_platform_that_misclassifies() -> None:
    class Careless(FirePlatform):
        answers = replace(FirePlatform.answers, codes={})  # every business code "unknown"

    class TestCareless(TestFire):
        platform = Careless
        answers = FirePlatform.answers  # the counterpart speaks the real protocol

    with pytest.raises(AssertionError, match="busy: got PermanentDeliveryError"):
        TestCareless().test_transient_failures_are_transient()


def test_the_kit_catches_a_platform_that_drops_the_key() -> None:
    class Forgetful(FirePlatform):
        def headers(self, path: str, body: bytes, idempotency_key: str) -> dict[str, str]:
            return {fire_proto.API_KEY_HEADER: self.config.api_key.get_secret_value()}

    class TestForgetful(TestFire):
        platform = Forgetful

    with pytest.raises(AssertionError, match="fire_events: the key is not sent"):
        TestForgetful().test_the_idempotency_key_reaches_the_platform()


def test_the_kit_catches_a_broken_adapter() -> None:
    class Broken(QishengAdapter):
        def parse(self, raw: RawMessage) -> list[Parsed]:
            raise RuntimeError("bug")

    class TestBroken(TestQisheng):
        adapter = Broken

    with pytest.raises(AssertionError, match="RuntimeError: bug"):
        TestBroken().test_good_samples_parse_into_canonical_records()


def test_the_kit_catches_a_push_adapter_that_trusts_anyone() -> None:
    class Trusting(CtwingAdapter):
        def verify_push(self, request: Any) -> Any:
            own = self.config.push_token.get_secret_value()  # whatever the request carries
            return super().verify_push(replace(request, query={"token": own}))

    class TestTrusting(TestCtwing):
        adapter = Trusting

    with pytest.raises(AssertionError, match="a forged push is accepted"):
        TestTrusting().test_a_forged_push_is_refused_and_never_parsed()


def test_the_kit_catches_a_push_that_parses_only_from_a_cache() -> None:
    class Caching(OneNetAdapter):
        """Parses a push only as verify_push decoded it: a reparse from the inbox fails."""

        def parse(self, raw: RawMessage) -> Any:
            if raw.stream == "push" and raw.decoded is None:
                raise RuntimeError("nothing cached")
            return super().parse(raw)

    class TestCaching(TestOneNet):
        adapter = Caching

    with pytest.raises(AssertionError):
        TestCaching().test_a_verified_push_parses_as_its_reparse()


def test_the_kit_catches_a_listener_that_never_binds() -> None:
    class Deaf(Hj212Adapter):
        def listener(self, handler: Any) -> Any:
            listener = super().listener(handler)
            listener.start = _nothing  # type: ignore[method-assign]
            return listener

    class TestDeaf(TestHj212):
        adapter = Deaf

    with pytest.raises(AssertionError, match="port"):
        TestDeaf().test_the_listener_binds_and_stops()


async def _nothing() -> None:
    return None
