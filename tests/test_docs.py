"""Every code block of docs/integrator-guide.md is run, so the guide cannot drift; and the
canonical field reference is the one the models give.

Each block's info string says how: `yaml spec` (the example spec, byte for byte, loads),
`yaml config` (a parkhub.yaml source, validated with its adapter), `yaml fragment` (a part of a
spec, loaded into the example), `yaml mapping` (a mapping spec, compiled and applied),
`toml entry-points` (what `parkhub new platform` writes), `python` (every block, in order, one
test module run by pytest), `console yaml-vendor` (tests/adapters/vendors/rest/test_example.py
runs it) and `console scaffold` (tests/cli/test_new.py runs it)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from parkhub.adapters.vendors.rest import parse_spec
from parkhub.cli.fields import canonical_fields_markdown
from parkhub.cli.new import scaffold
from parkhub.config import parse_config
from parkhub.mappings.engine import CompiledMapping, MappingSpec
from tests.helpers import guide_blocks

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "vendors" / "smartpark.vendor.yaml"
KINDS = {
    "yaml spec", "yaml config", "yaml fragment", "yaml mapping", "toml entry-points", "python",
    "console yaml-vendor", "console scaffold",
}  # fmt: skip


def test_every_block_has_a_runner() -> None:
    blocks = guide_blocks()
    assert {info for info, _ in blocks} == KINDS, "a block no test runs: give it a known kind"
    for kind in ("yaml spec", "yaml config", "toml entry-points", "console yaml-vendor",
                 "console scaffold"):  # fmt: skip
        assert len(guide_blocks(kind)) == 1, kind


def test_the_example_spec_in_the_guide_is_the_file() -> None:
    [(_, text)] = guide_blocks("yaml spec")
    assert text == EXAMPLE.read_text(encoding="utf-8")
    assert parse_spec(yaml.safe_load(text)).name == "smartpark"


def test_the_source_config_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the spec path is relative to the working directory
    monkeypatch.setenv("SMARTPARK_APP_SECRET", "not-a-real-secret")
    [(_, text)] = guide_blocks("yaml config")
    parks = [{"id": "wz-lc-0001", "name": "鹿城智造小微企业园", "division_code": "330302"}]
    config = parse_config({"parks": parks, **yaml.safe_load(text)})
    assert config.sources[0].vendor == "rest"


@pytest.mark.parametrize("index", range(len(guide_blocks("yaml fragment"))))
def test_each_spec_fragment_loads_into_the_example(index: int) -> None:
    _, text = guide_blocks("yaml fragment")[index]
    example: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    fragment = yaml.safe_load(text)
    assert parse_spec({**example, **fragment}, origin=f"fragment {index}")


def test_the_mapping_spec_compiles_and_maps_a_reading() -> None:
    [(_, text)] = guide_blocks("yaml mapping")
    mapping = CompiledMapping(MappingSpec.model_validate(yaml.safe_load(text)), "guide")
    doc = {"park_id": "p1", "device_id": "m1", "ts": "2026-10-01T00:00:00Z", "value": 1.23456,
           "_meta": {"revision": 2, "correction": True}}  # fmt: skip
    assert mapping.apply(doc) == {
        "parkCode": "p1", "meter": "m1", "readAt": "2026-10-01 08:00:00", "kwh": 1.235,
        "isCorrection": 1, "data": {"source": "parkhub"},
    }  # fmt: skip


def test_the_entry_points_are_what_the_scaffold_writes(tmp_path: Path) -> None:
    [(_, text)] = guide_blocks("toml entry-points")
    scaffold("platform", "energyoffice", tmp_path)
    written = tomllib.loads((tmp_path / "pyproject.toml").read_text(encoding="utf-8"))
    assert tomllib.loads(text)["project"] == {"entry-points": written["project"]["entry-points"]}


def test_the_python_blocks_are_a_test_module_that_passes(tmp_path: Path) -> None:
    """The guide's Python, every block in order, as one test module an integrator would run."""
    module = tmp_path / "test_guide.py"
    module.write_text("\n\n".join(text for _, text in guide_blocks("python")), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)],
        cwd=tmp_path, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith("14 passed"), summary  # pull 7, platform 6, the mock twin 1


def test_the_canonical_field_reference_is_generated_from_the_models() -> None:
    """docs/canonical-fields.md: `make schemas` writes it; change a model, run it."""
    text = (ROOT / "docs" / "canonical-fields.md").read_text(encoding="utf-8")
    assert text == canonical_fields_markdown(), "docs/canonical-fields.md drifted: make schemas"
