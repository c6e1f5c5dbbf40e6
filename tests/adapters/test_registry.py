"""The adapter registry: built-ins, adapters that installed distributions declare as entry points,
and entry points that fail to load (listed as broken, harmless to every other name)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from parkhub.adapters.registry import (
    installed,
    platform_class,
    platform_names,
    vendor_class,
    vendor_names,
)
from parkhub.errors import ConfigError

PLUGIN = """
from typing import ClassVar

from pydantic import BaseModel

from parkhub.adapters.platforms.base import Platform, ReportSpec
from parkhub.adapters.vendors.base import VendorAdapter


class ZetaConfig(BaseModel):
    token: str


class ZetaVendor(VendorAdapter[ZetaConfig]):
    name = "zeta"
    config_model = ZetaConfig
    capabilities: ClassVar[frozenset[str]] = frozenset({"file", "pull"})
    streams = ("meters", "readings")

    def parse(self, raw, result):
        pass


class ZetaCity(Platform[ZetaConfig]):
    name = "zeta_city"
    config_model = ZetaConfig
    reports = {"readings": ReportSpec("measurement", "zeta_readings.yaml")}

    def send(self, report, payload, idempotency_key):
        raise NotImplementedError


NOT_AN_ADAPTER = 42
"""

ENTRY_POINTS = """\
[parkhub.vendors]
zeta = parkhub_zeta_plugin:ZetaVendor
ghost = parkhub_zeta_missing:GhostVendor
answer = parkhub_zeta_plugin:NOT_AN_ADAPTER

[parkhub.platforms]
zeta_city = parkhub_zeta_plugin:ZetaCity
"""


def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed distribution `parkhub-zeta` 1.2.0 declaring adapters (one good vendor, one
    whose module is missing, one that is no adapter; one platform), on sys.path as if installed."""
    (tmp_path / "parkhub_zeta_plugin.py").write_text(PLUGIN, encoding="utf-8")
    info = tmp_path / "parkhub_zeta-1.2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: parkhub-zeta\nVersion: 1.2.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(ENTRY_POINTS, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "parkhub_zeta_plugin", raising=False)
    return tmp_path


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return install_plugin(tmp_path, monkeypatch)


def test_builtins_are_listed_with_their_capabilities_streams_and_reports() -> None:
    by_name = {(i.kind, i.name): i for i in installed(plugins=False)}
    qisheng = by_name[("vendor", "qisheng")]
    assert qisheng.origin == "built-in" and qisheng.error is None
    assert qisheng.capabilities == ("pull",)
    assert qisheng.streams == ("enterprises", "monthly", "readings", "alarms")
    assert by_name[("vendor", "ctwing")].capabilities == ("pull", "push")  # a fixed order
    provincial = by_name[("platform", "provincial")]
    assert provincial.reports == ("park_monthly", "enterprise_roster")
    assert provincial.ref == "parkhub.adapters.platforms.provincial:ProvincialPlatform"
    rest = by_name[("vendor", "rest")]  # a YAML vendor's streams are its spec's
    assert rest.capabilities == ("pull",) and rest.streams == () and "spec" in rest.documents
    assert [i.kind for i in installed(plugins=False)] == ["vendor"] * 6 + ["platform"] * 6


def test_a_plugin_distribution_is_named_with_its_version(plugin: Path) -> None:
    by_name = {(i.kind, i.name): i for i in installed()}
    zeta = by_name[("vendor", "zeta")]
    assert zeta.origin == "parkhub-zeta 1.2.0" and zeta.error is None
    assert (zeta.distribution, zeta.version) == ("parkhub-zeta", "1.2.0")
    assert zeta.capabilities == ("pull", "file") and zeta.streams == ("meters", "readings")
    city = by_name[("platform", "zeta_city")]
    assert city.origin == "parkhub-zeta 1.2.0" and city.reports == ("readings",)
    assert city.as_dict()["reports"] == ["readings"]
    assert vendor_class("zeta").__name__ == "ZetaVendor"
    assert platform_class("zeta_city").__name__ == "ZetaCity"
    assert "zeta" in vendor_names() and "zeta_city" in platform_names()


def test_a_broken_entry_point_is_listed_with_its_reason_and_harms_no_other_name(
    plugin: Path,
) -> None:
    by_name = {(i.kind, i.name): i for i in installed()}
    ghost = by_name[("vendor", "ghost")]
    assert ghost.error is not None and "parkhub-zeta 1.2.0" in ghost.error
    assert "ModuleNotFoundError" in ghost.error and ghost.capabilities == ()
    assert ghost.as_dict()["error"] == ghost.error
    answer = by_name[("vendor", "answer")]
    assert answer.error == "parkhub_zeta_plugin:NOT_AN_ADAPTER is not a VendorAdapter"
    assert by_name[("vendor", "qisheng")].error is None  # the rest still load
    assert vendor_class("qisheng").name == "qisheng" and vendor_class("zeta").name == "zeta"
    with pytest.raises(ConfigError, match=r"无法加载.*ModuleNotFoundError"):
        vendor_class("ghost")


def test_builtins_only_leave_plugins_out(plugin: Path) -> None:
    assert {i.name for i in installed(plugins=False)}.isdisjoint({"zeta", "ghost", "zeta_city"})
    assert "zeta" not in vendor_names(plugins=False)
    assert "zeta_city" not in platform_names(plugins=False)
    assert all(i.origin == "built-in" for i in installed(plugins=False))


def test_an_unknown_name_says_which_are_known() -> None:
    with pytest.raises(ConfigError, match=r"unknown vendor 'nope'; known: .*qisheng"):
        vendor_class("nope")
    with pytest.raises(ConfigError, match=r"unknown platform 'nope'; known: .*provincial"):
        platform_class("nope")
    with pytest.raises(ConfigError, match="is not a Platform"):
        platform_class("parkhub.adapters.vendors.qisheng:QishengAdapter")
