"""The conformance kit (parkhub.testing) run on the built-in adapters, as an integrator would."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from parkhub.adapters.platforms.provincial import ProvincialPlatform
from parkhub.adapters.vendors.qisheng import QishengAdapter
from parkhub.testing import PlatformSuite, VendorAdapterSuite
from tests.helpers import FIXTURES


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFORMANCE_SECRET", "not-a-real-secret")


class TestQisheng(VendorAdapterSuite):
    adapter = QishengAdapter
    config: ClassVar[dict[str, Any]] = {
        "base_url": "http://127.0.0.1:9",
        "app_id": "a",
        "app_secret": "env:CONFORMANCE_SECRET",
    }
    samples = FIXTURES / "qisheng"


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
        def parse(self, raw, result):  # type: ignore[no-untyped-def]
            raise RuntimeError("bug")

    class TestBroken(TestQisheng):
        adapter = Broken

    with pytest.raises(AssertionError, match="RuntimeError: bug"):
        TestBroken().test_good_samples_parse_into_canonical_records()
