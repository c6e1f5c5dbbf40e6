"""`parkhub adapters` lists what is installed and where it comes from; plugins never reach the
checked-in JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parkhub.cli import app, console
from parkhub.cli.schemas import all_schemas
from tests.adapters.test_registry import install_plugin

EXAMPLE_PLUGIN = "parkhub-example-plugin 0.1.0"


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(console, "width", 200)
    return install_plugin(tmp_path, monkeypatch)


def test_builtins_and_the_installed_example_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-ins, and the example plugin package `make test` pip-installs."""
    monkeypatch.setattr(console, "width", 200)
    result = CliRunner().invoke(app, ["adapters"])
    assert result.exit_code == 0, result.output
    assert "qisheng" in result.output and "enterprises, monthly, readings, alarms" in result.output
    assert "provincial" in result.output and "park_monthly, enterprise_roster" in result.output
    out = json.loads(CliRunner().invoke(app, ["adapters", "--json"]).output)
    origin = {a["name"]: a["origin"] for a in out}
    builtin = ["ctwing", "hj212", "manual", "onenet", "qisheng", "rest"]
    builtin += ["ecology", "econ", "fire", "provincial", "safety", "stats"]
    assert {name: origin[name] for name in builtin} == dict.fromkeys(builtin, "built-in")
    example = {name: o for name, o in origin.items() if name not in builtin}
    assert example == dict.fromkeys(["acme", "lines", "county_energy"], EXAMPLE_PLUGIN)


def test_a_plugin_package_is_named_and_a_broken_one_shows_why(plugin: Path) -> None:
    result = CliRunner().invoke(app, ["adapters", "--json"])
    assert result.exit_code == 0, result.output
    by_name = {a["name"]: a for a in json.loads(result.output)}
    assert by_name["zeta"] == {
        "kind": "vendor",
        "name": "zeta",
        "origin": "parkhub-zeta 1.2.0",
        "distribution": "parkhub-zeta",
        "version": "1.2.0",
        "ref": "parkhub_zeta_plugin:ZetaVendor",
        "capabilities": ["pull", "file"],
        "streams": ["meters", "readings"],
        "reports": [],
        "error": None,
    }
    assert by_name["zeta_city"]["reports"] == ["readings"]
    assert "ModuleNotFoundError" in by_name["ghost"]["error"]
    assert by_name["qisheng"]["error"] is None

    table = CliRunner().invoke(app, ["adapters"])
    assert table.exit_code == 0, table.output
    [ghost] = [line for line in table.output.splitlines() if " ghost " in line]
    assert "parkhub-zeta 1.2.0" in ghost and "broken" in ghost and "parkhub_zeta_missing" in ghost
    [zeta] = [line for line in table.output.splitlines() if " zeta " in line]
    assert "pull, file" in zeta and "meters, readings" in zeta


def test_installing_a_plugin_does_not_change_the_checked_in_schemas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = all_schemas()
    install_plugin(tmp_path, monkeypatch)
    assert all_schemas() == before
    assert not [path for path in before if "zeta" in path]
