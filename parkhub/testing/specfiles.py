"""YAML vendors as tests: a `<name>.vendor.yaml` spec, and the folder `<name>/` beside it of
answers captured from the vendor (`<stream>.<case>.json`, `.expected.json` pins, `bad_` cases),
run through the REST vendor and the vendor suite, with no Python written."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from parkhub.adapters.vendors.base import SourceContext
from parkhub.adapters.vendors.rest import RestAdapter, load_spec

from .vendor import VendorAdapterSuite

KIT_CONFIG = {
    "base_url": "http://127.0.0.1:9",
    "token": "env:PARKHUB_KIT_TOKEN",
    "app_key": "kit-app-key",
    "app_secret": "env:PARKHUB_KIT_SECRET",
}
"""Credentials for parsing samples: nothing is sent anywhere."""
CHECKS = (
    "test_declares_its_contract",
    "test_secrets_are_secret_fields",
    "test_good_samples_parse_into_canonical_records",
    "test_bad_samples_give_errors_not_exceptions",
    "test_parsing_is_deterministic",
    "test_garbage_never_raises",
)


class KitError(Exception):
    """A kit check failed: its message says what and where."""


class VendorSpecFile(pytest.File):
    """A `*.vendor.yaml` file: the spec loads, then the vendor suite on its samples."""

    def collect(self) -> Iterable[pytest.Item]:
        yield KitItem.from_parent(self, name="spec", check=self._load)
        try:
            spec = load_spec(self.path)
        except ValueError:
            return  # the spec item says why
        folder = self.path.with_name(self.path.name.removesuffix(".vendor.yaml"))
        if not folder.is_dir():
            yield KitItem.from_parent(self, name="samples", check=lambda: _no_samples(folder))
            return
        suite = type(
            "YamlVendorSuite",
            (VendorAdapterSuite,),
            {"adapter": RestAdapter, "config": {"spec": str(self.path), **KIT_CONFIG},
             "samples": folder, "park_id": "kit-park",
             "source": SourceContext(f"{spec.name}-test", "kit-park")},
        )  # fmt: skip
        for name in CHECKS:
            yield KitItem.from_parent(self, name=name, check=getattr(suite(), name))

    def _load(self) -> None:
        try:
            load_spec(self.path)
        except ValueError as exc:
            raise KitError(str(exc)) from None


def _no_samples(folder: Path) -> None:
    raise KitError(
        f"no samples: put answers captured from the vendor in {folder}/ as "
        "<stream>.<case>.json (and <stream>.<case>.expected.json to pin the records)"
    )


class KitItem(pytest.Item):
    def __init__(self, *, check: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    def runtest(self) -> None:
        self.check()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (KitError, AssertionError)):
            return f"{self.path.name}::{self.name}: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.path, None, self.name
