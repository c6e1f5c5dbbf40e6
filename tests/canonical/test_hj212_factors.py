"""The Annex B factor table: metrics, units, 2005 codes, data marks; canonical-layer purity."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from parkhub.canonical import hj212_factors as hf


@pytest.mark.parametrize(
    ("code", "metric", "unit"),
    [
        ("w01018", "cod", "mg/L"),
        ("w21003", "ammonia_n", "mg/L"),
        ("w00000", "wastewater_flow", "L/s"),
        ("a00000", "flue_gas_flow", "m3/s"),
        ("a21026", "so2", "mg/m3"),
        ("a21002", "nox", "mg/m3"),
        ("a34004", "pm25", "ug/m3"),
        ("a34013", "smoke_dust", "mg/m3"),
        ("a19001", "o2", "%"),
        ("a01006", "air_pressure", "kPa"),
        ("w01010", "water_temperature", "°C"),
        ("Leq", "noise_leq", "dB"),
    ],
)
def test_metric_for_known_codes(code: str, metric: str, unit: str) -> None:
    info = hf.metric_for(code)
    assert info is not None and (info.metric, info.unit) == (metric, unit)


def test_data_types_given_by_the_standard() -> None:
    assert hf.FACTORS["w01018"].data_type == "N5.1"
    assert hf.FACTORS["a21026"].data_type == "N5.2"
    assert hf.FACTORS["a34013"].data_type == "N4"


def test_unknown_codes_pass_through() -> None:
    assert hf.metric_for("a05024") is None and hf.metric_for("LAMPBLACK") is None
    assert hf.passthrough_metric("a05024") == "hj212:a05024"


def test_metrics_are_unique_snake_case_and_names_chinese() -> None:
    metrics = [f.metric for f in hf.FACTORS.values()]
    assert len(metrics) == len(set(metrics))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", m) for m in metrics)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in f.name_zh) for f in hf.FACTORS.values())


@pytest.mark.parametrize(
    ("old", "st", "new"),
    [
        ("011", "32", "w01018"),
        ("060", "32", "w21003"),
        ("B01", "32", "w00000"),
        ("001", None, "w01001"),
        ("02", "31", "a21026"),
        ("03", "31", "a21002"),
        ("01", "31", "a34013"),
        ("B02", "31", "a00000"),
        ("S01", "51", "a19001"),
        ("023", "32", "w20116"),
        ("023", "31", None),  # a gas device's own channel, not total chromium
        ("02", "32", None),
        ("011", "23", None),
    ],
)
def test_old_codes_map_per_medium(old: str, st: str | None, new: str | None) -> None:
    assert hf.new_code_for(old, st) == new


def test_old_code_maps_are_consistent() -> None:
    assert hf.OLD_TO_NEW == {**hf.OLD_TO_NEW_WATER, **hf.OLD_TO_NEW_GAS}
    assert not set(hf.OLD_TO_NEW_WATER) & set(hf.OLD_TO_NEW_GAS)
    for old, new in hf.OLD_TO_NEW.items():
        assert hf.FACTORS[new].old_code == old


def test_data_flags_cover_table_8() -> None:
    assert list(hf.DATA_FLAGS) == list("NFMSDCTB") == list(hf.DATA_FLAGS_ZH)
    assert hf.DATA_FLAGS["D"] == "instrument fault"


def test_module_imports_only_the_stdlib() -> None:
    tree = ast.parse(Path(hf.__file__).read_text(encoding="utf-8"))
    names = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    names |= {
        (n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
    }
    assert names <= set(sys.stdlib_module_names) | {"__future__"}
