"""The mapping engine and the provincial specs: golden payloads, transforms, clear errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parkhub.errors import ConfigError, MappingError
from parkhub.mappings import MappingSpec
from parkhub.mappings.engine import CompiledMapping, load_mapping
from tests.helpers import FIXTURES

GOLDEN = FIXTURES / "golden"


@pytest.mark.parametrize(
    ("spec", "case"),
    [
        ("provincial.park_monthly.yaml", "park_monthly_2026-10"),
        ("provincial.park_monthly.yaml", "park_monthly_correction"),
        ("provincial.enterprise.yaml", "enterprise_above_scale"),
        ("provincial.enterprise.yaml", "enterprise_left_pilot_code"),
    ],
)
def test_golden_payloads(spec: str, case: str) -> None:
    doc = json.loads((GOLDEN / f"{case}.canonical.json").read_text(encoding="utf-8"))
    expected = json.loads((GOLDEN / f"{case}.payload.json").read_text(encoding="utf-8"))
    assert load_mapping(spec).apply(doc) == expected


def _mapping(fields: dict[str, Any]) -> CompiledMapping:
    spec = MappingSpec.model_validate(
        {"name": "t", "version": "1", "record_kind": "x", "fields": fields}
    )
    return CompiledMapping(spec, "t.yaml")


def test_transforms() -> None:
    m = _mapping(
        {
            "wan": {"path": "v", "transforms": [{"unit": ["yuan", "万元"]}, {"round": 2}]},
            "half": {"path": "h", "transforms": [{"round": 0}]},
            "day": {"path": "ts", "transforms": [{"datetime": "%Y-%m-%d %H:%M"}]},
            "code": {"path": "div", "transforms": [{"code": "division_name"}]},
            "nested.flag": {"path": "b", "transforms": [{"map": {"true": "是", "false": "否"}}]},
            "fixed": {"const": "V1"},
            "missing": {"path": "nope", "transforms": [{"default": 0}]},
        }
    )
    out = m.apply(
        {"v": 1234567.0, "h": 2.5, "ts": "2026-10-31T16:30:00Z", "div": "330381", "b": True}
    )
    assert out == {
        "wan": 123.46,
        "half": 3,
        "day": "2026-11-01 00:30",
        "code": "瑞安市",
        "nested": {"flag": "是"},
        "fixed": "V1",
        "missing": 0,
    }


def test_mapping_error_names_spec_field_and_record() -> None:
    m = _mapping({"n": {"path": "v", "transforms": ["int"]}, "r": {"path": "x", "required": True}})
    with pytest.raises(MappingError) as err:
        m.apply({"v": "abc", "x": 1}, record="enterprise:91330302000000019D@r1")
    assert err.value.spec == "t.yaml" and err.value.target == "n"
    assert "enterprise:91330302000000019D@r1" in str(err.value)
    with pytest.raises(MappingError, match="required value missing"):
        m.apply({"v": 1})


def test_bad_spec_fails_at_load_with_the_field_named() -> None:
    with pytest.raises(ConfigError, match="field 'x': unknown transform 'eval'"):
        _mapping({"x": {"path": "a", "transforms": [{"eval": "1+1"}]}})
    with pytest.raises(ConfigError, match="cannot convert 'yuan' to 'kWh'"):
        _mapping({"x": {"path": "a", "transforms": [{"unit": ["yuan", "kWh"]}]}})
    with pytest.raises(ConfigError, match="bad path"):
        _mapping({"x": {"path": "a[?"}})


def test_aggregations_and_labels() -> None:
    m = _mapping(
        {
            "total": {
                "path": "sum(items[].yuan)",
                "transforms": [{"unit": ["yuan", "万元"]}, {"round": 2}],
                "label": "合计(万元)",
            },
            "count": {"path": "length(items)", "label": "企业数"},
            "largest": {"path": "max_by(items, &yuan).name"},
        }
    )
    doc = {"items": [{"name": "甲", "yuan": 1_500_000.0}, {"name": "乙", "yuan": 2_345_678.0}]}
    assert m.apply(doc) == {"total": 384.57, "count": 2, "largest": "乙"}
    assert m.labels() == {"total": "合计(万元)", "count": "企业数", "largest": "largest"}


def test_every_built_in_field_has_a_chinese_label() -> None:
    """Delivery details show each field under its label: none is left with its bare name."""
    from pathlib import Path

    import parkhub.mappings.specs as specs

    folder = Path(specs.__file__).parent
    names = sorted(p.name for p in folder.glob("*.yaml"))
    assert names
    for name in names:
        labels = load_mapping(name).labels()
        bare = [target for target, label in labels.items() if label == target]
        assert bare == [], (name, bare)
