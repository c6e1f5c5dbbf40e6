"""The conformance kit: prove a vendor adapter, a YAML vendor or a platform in a few lines of
pytest. It is a pytest plugin too (entry point `pytest11`, parkhub.testing.plugin): installed
with parkhub, it collects `*.vendor.yaml` specs and their samples as tests, and lends fixtures.

    from parkhub.testing import PullSuite, VendorAdapterSuite

    class TestMyVendor(VendorAdapterSuite, PullSuite):
        adapter = MyVendorAdapter
        config = {"token": "env:MYVENDOR_TOKEN"}
        samples = Path(__file__).parent / "fixtures" / "myvendor"
        ...

- `VendorAdapterSuite` (parkhub.testing.vendor): the contract, captured samples, pushes.
- `PullSuite` (parkhub.testing.pull): paging, cursors, failures, against a fake vendor.
- `PlatformSuite` (parkhub.testing.platform): reports, the idempotency key, error classes.
- `MockPlatform`: a platform whose `send` calls your function.

The names are imported when first used, so loading the plugin stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_PUBLIC = {
    "VendorAdapterSuite": "parkhub.testing.vendor",
    "PullSuite": "parkhub.testing.pull",
    "FakeVendor": "parkhub.testing.pull",
    "Faults": "parkhub.testing.pull",
    "loopback": "parkhub.testing.pull",
    "pull_all": "parkhub.testing.pull",
    "PlatformSuite": "parkhub.testing.platform",
    "MockPlatform": "parkhub.adapters.platforms.base",
    "Sample": "parkhub.testing.samples",
    "load_samples": "parkhub.testing.samples",
    "placeholder_secrets": "parkhub.testing.samples",
}

__all__ = [
    "FakeVendor",
    "Faults",
    "MockPlatform",
    "PlatformSuite",
    "PullSuite",
    "Sample",
    "VendorAdapterSuite",
    "load_samples",
    "loopback",
    "placeholder_secrets",
    "pull_all",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'parkhub.testing' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:
    from parkhub.adapters.platforms.base import MockPlatform
    from parkhub.testing.platform import PlatformSuite
    from parkhub.testing.pull import FakeVendor, Faults, PullSuite, loopback, pull_all
    from parkhub.testing.samples import Sample, load_samples, placeholder_secrets
    from parkhub.testing.vendor import VendorAdapterSuite
