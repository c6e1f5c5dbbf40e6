"""`parkhub new vendor|platform NAME` writes a pip-installable package that passes its own tests
as generated. The proof runs the guide's own commands (docs/integrator-guide.md, the `console
scaffold` block): generate, `pip install -e` into a fresh virtual environment (beside this one:
no download, no build isolation), pytest; loopback only."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parkhub.cli import app
from parkhub.cli.new import check_name, scaffold
from parkhub.errors import ConfigError
from tests.helpers import guide_commands

RUFF = Path(sys.executable).with_name("ruff")


def _venv(where: Path) -> Path:
    """A virtual environment that sees this one's packages (parkhub, pytest) and gets its own."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    parent = sysconfig.get_paths()["purelib"]
    Path(site, "_parkhub_parent.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    return python


def test_names_are_checked_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lower-case letters, digits and _"):
        check_name("vendor", "Acme-Meter")
    with pytest.raises(ConfigError, match="is taken: the vendor qisheng of built-in"):
        check_name("vendor", "qisheng")
    with pytest.raises(ConfigError, match="is taken: the vendor acme of parkhub-example-plugin"):
        check_name("platform", "acme")  # an installed plugin's
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="exists and is not empty"):
        scaffold("vendor", "citymeter", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_vendor_package_declares_its_entry_point(tmp_path: Path) -> None:
    written = scaffold("vendor", "smart_meter", tmp_path / "pkg")
    names = sorted(str(p.relative_to(tmp_path / "pkg")) for p in written)
    assert names == [
        "README.md",
        "parkhub_smart_meter/__init__.py",
        "parkhub_smart_meter/adapter.py",
        "parkhub_smart_meter/fake.py",
        "pyproject.toml",
        "tests/fixtures/readings.bad_time.json",
        "tests/fixtures/readings.page.expected.json",
        "tests/fixtures/readings.page.json",
        "tests/test_adapter.py",
    ]
    project = tomllib.loads((tmp_path / "pkg" / "pyproject.toml").read_text())["project"]
    assert project["name"] == "parkhub-smart-meter"
    assert project["entry-points"] == {
        "parkhub.vendors": {"smart_meter": "parkhub_smart_meter.adapter:SmartMeterAdapter"}
    }


def test_a_platform_package_declares_its_platform_specs_and_schemas(tmp_path: Path) -> None:
    written = scaffold("platform", "energyoffice", tmp_path / "pkg")
    rel = {str(p.relative_to(tmp_path / "pkg")) for p in written}
    assert {"parkhub_energyoffice/specs/energyoffice.readings.yaml",
            "parkhub_energyoffice/schemas/energyoffice/readings.schema.json",
            "parkhub_energyoffice/fake.py", "tests/test_platform.py"} <= rel  # fmt: skip
    project = tomllib.loads((tmp_path / "pkg" / "pyproject.toml").read_text())["project"]
    assert project["entry-points"] == {
        "parkhub.platforms": {"energyoffice": "parkhub_energyoffice.platform:EnergyofficePlatform"},
        "parkhub.mappings": {"energyoffice": "parkhub_energyoffice.specs"},
        "parkhub.schemas": {"energyoffice": "parkhub_energyoffice.schemas"},
    }


def test_the_guides_commands_make_packages_that_pass_their_own_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generate, pip install -e, pytest, exactly as the guide says, with no edit between."""
    monkeypatch.chdir(tmp_path)
    python = _venv(tmp_path / "venv")
    commands = guide_commands("scaffold")
    assert [c[0] for c in commands] == ["parkhub", "parkhub", "pip", "pytest"]
    outputs = []
    for command in commands:
        if command[0] == "parkhub":
            result = CliRunner().invoke(app, command[1:])
            assert result.exit_code == 0, result.output
            continue
        if command[0] == "pip":  # this environment's pip, installing into the fresh one
            args = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-build-isolation", *command[2:]]  # fmt: skip
        else:
            args = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *command[1:]]
        done = subprocess.run(args, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        outputs.append(done.stdout)
    summary = outputs[-1].strip().splitlines()[-1]
    assert re.match(r"^\d+ passed in ", summary), summary  # nothing failed, nothing skipped
    assert int(summary.split()[0]) >= 20
    packages = [p for p in tmp_path.iterdir() if p.name.startswith("parkhub-")]
    lint = subprocess.run([str(RUFF), "check", "-q", *map(str, packages)], capture_output=True,
                          text=True)  # fmt: skip
    assert lint.returncode == 0, lint.stdout  # generated code is clean as well as green
