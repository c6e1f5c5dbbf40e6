"""The conformance kit (parkhub.testing) run on the built-in adapters, as an integrator would."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import pytest

from parkhub.adapters.platforms.provincial import ProvincialPlatform
from parkhub.adapters.vendors.base import Parsed, PushRequest, RawMessage
from parkhub.adapters.vendors.ctwing import CtwingAdapter
from parkhub.adapters.vendors.hj212 import Hj212Adapter
from parkhub.adapters.vendors.manual import ManualAdapter
from parkhub.adapters.vendors.onenet import OneNetAdapter
from parkhub.adapters.vendors.qisheng import QishengAdapter
from parkhub.sandbox.onenet_sim import DEMO_TOKEN
from parkhub.testing import PlatformSuite, VendorAdapterSuite
from tests.helpers import FIXTURES
from tests.plugin_vendors import AcmePushAdapter

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


class TestCtwing(VendorAdapterSuite):
    adapter = CtwingAdapter
    config: ClassVar[dict[str, Any]] = {"push_token": "env:CONFORMANCE_SECRET"}
    forged_config: ClassVar[dict[str, Any]] = {"push_token": "env:CONFORMANCE_ONENET_TOKEN"}
    push_query: ClassVar[dict[str, str]] = {"token": SECRET}
    samples = FIXTURES / "ctwing"
    sample_stream = "push"


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
        "park_monthly": {
            "park_id": "wz-lc-0001",
            "period": "2026-10",
            "park_name": "鹿城智造小微企业园",
            "division_code": "330302",
            "enterprise_count": 3,
            "above_scale_count": 1,
            "reporting_enterprises": 3,
            "output_value_yuan": 1.0e7,
            "revenue_yuan": 1.2e7,
            "tax_yuan": 4.0e5,
            "employees": 120,
            "electricity_kwh": 50000.0,
        },
        "enterprise_roster": {
            "park_id": "wz-lc-0001",
            "credit_code": "913303020000000278",
            "name": "温州瓯江电气有限公司",
            "above_scale": True,
            "status": "active",
            "industry_code": "3823",
        },
    }


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
