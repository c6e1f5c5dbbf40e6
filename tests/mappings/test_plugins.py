"""Plugin seams: mapping specs (entry-point group `parkhub.mappings`) and payload schemas
(`parkhub.schemas`) from a package outside parkhub; built-ins are never replaced."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from parkhub.errors import ConfigError
from parkhub.mappings import load_mapping
from parkhub.schemas.loader import payload_validator

SPEC = """\
name: acme.monthly
version: "1"
record_kind: enterprise_monthly
fields:
  code: {path: credit_code, required: true, label: 信用代码}
"""
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["code"],
}


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed plugin `acme`: package `acme_parkhub` with `specs/` and `schemas/`, declared
    under both groups (and a second plugin whose package does not import)."""
    package = tmp_path / "acme_parkhub"
    for sub in ("specs", "schemas", "schemas/acme"):
        (package / sub).mkdir(parents=True)
        (package / sub / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "specs" / "acme.monthly.yaml").write_text(SPEC, encoding="utf-8")
    (package / "schemas" / "acme" / "monthly.schema.json").write_text(json.dumps(SCHEMA))
    monkeypatch.syspath_prepend(str(tmp_path))
    declared = [
        EntryPoint("acme", "acme_parkhub.specs", "parkhub.mappings"),
        EntryPoint("acme", "acme_parkhub.schemas", "parkhub.schemas"),
        EntryPoint("gone", "gone_parkhub.specs", "parkhub.mappings"),
    ]
    monkeypatch.setattr(
        "parkhub.resources.entry_points",
        lambda group: [ep for ep in declared if ep.group == group],
    )
    load_mapping.cache_clear()
    payload_validator.cache_clear()
    yield package
    load_mapping.cache_clear()
    payload_validator.cache_clear()
    for name in [m for m in sys.modules if m.partition(".")[0] == "acme_parkhub"]:
        del sys.modules[name]  # the next test's package is in another folder


def test_a_plugin_ships_its_mapping_spec_and_payload_schema(plugin: Path) -> None:
    mapping = load_mapping("acme.monthly.yaml")
    assert mapping.apply({"credit_code": "X1"}) == {"code": "X1"}
    assert mapping.labels() == {"code": "信用代码"}
    validator = payload_validator("acme/monthly.schema.json")
    assert validator.is_valid({"code": "X1"}) and not validator.is_valid({})
    # the built-ins still load, from parkhub
    assert load_mapping("provincial.park_monthly.yaml").name == "provincial.park_monthly"
    assert payload_validator("provincial/park_monthly.schema.json")


def test_a_plugin_never_replaces_a_built_in(plugin: Path) -> None:
    (plugin / "specs" / "provincial.park_monthly.yaml").write_text(SPEC, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_mapping("provincial.park_monthly.yaml")
    assert "重名" in str(err.value) and "is in 2 places" in str(err.value)
    assert "built-in" in str(err.value) and "plugin acme = 'acme_parkhub.specs'" in str(err.value)
    (plugin / "schemas" / "provincial").mkdir()
    (plugin / "schemas" / "provincial" / "park_monthly.schema.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"plugin acme = 'acme_parkhub\.schemas'"):
        payload_validator("provincial/park_monthly.schema.json")


def test_a_missing_spec_or_schema_names_where_it_looked(plugin: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_mapping("nowhere.yaml")
    message = str(err.value)
    assert "映射规格 (mapping spec) nowhere.yaml 未找到" in message
    assert "mappings/specs" in message and "plugin acme = 'acme_parkhub.specs'" in message
    assert "plugin gone = 'gone_parkhub.specs' (cannot import" in message
    with pytest.raises(ConfigError, match=r"\(payload schema\) acme/none\.schema\.json 未找到"):
        payload_validator("acme/none.schema.json")


def test_without_plugins_a_missing_spec_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"nowhere\.yaml 未找到 \(not found; looked in: built-in"):
        load_mapping("nowhere.yaml")
