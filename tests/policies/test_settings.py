"""The data-trust settings in parkhub.yaml: rules per park over good defaults, precedence per
park and kind, county rules by year with the published default; mistakes named at load."""

from __future__ import annotations

import pytest

from parkhub.config import parse_config
from parkhub.errors import ConfigError
from parkhub.policies import PUBLISHED_RULES, EvaluationConfig, QualityConfig, SurvivorshipConfig

PARK = {"id": "p1", "name": "园区", "division_code": "330302"}


def test_a_parks_rules_lay_its_overrides_over_the_defaults() -> None:
    cfg = QualityConfig.model_validate(
        {"rules": {"jump": {"ratio": 6}}, "parks": {"p1": {"jump": {"severity": "hold"}}}}
    )
    mine = cfg.for_park("p1")
    assert (mine.jump.severity, mine.jump.ratio) == ("hold", 6)
    assert cfg.for_park("p2").jump.severity == "warn"
    assert mine.range.severity == "hold" and mine.missing_month.severity == "info"
    assert mine.unit_mistake.factor == 10_000 and mine.scale.threshold_yuan == 2e7


def test_mistakes_in_the_settings_name_where_they_are() -> None:
    with pytest.raises(ConfigError, match="unknown rule 'jumps'"):
        parse_config({"parks": [PARK], "quality": {"parks": {"p1": {"jumps": {}}}}})
    with pytest.raises(ConfigError, match=r"quality\.parks\.p1"):
        parse_config({"parks": [PARK], "quality": {"parks": {"p1": {"jump": {"ratio": 0.5}}}}})
    with pytest.raises(ConfigError, match="quality: unknown park 'p9'"):
        parse_config({"parks": [PARK], "quality": {"parks": {"p9": {}}}})
    with pytest.raises(ConfigError, match="severity"):
        parse_config({"parks": [PARK], "quality": {"rules": {"jump": {"severity": "block"}}}})
    with pytest.raises(ConfigError, match="a >= b >= c"):
        rule = {**PUBLISHED_RULES[1].model_dump(), "classes": {"a": 50, "b": 80, "c": 10}}
        parse_config({"parks": [PARK], "evaluation": {"rules": [rule]}})


def test_precedence_per_park_and_kind() -> None:
    cfg = SurvivorshipConfig.model_validate(
        {"parks": {"p1": {"enterprise": {"default": ["vendor", "entry"]}}}}
    )
    assert cfg.precedence("p1", "enterprise").default == ("vendor", "entry")  # type: ignore[union-attr]
    assert cfg.precedence("p2", "enterprise").default[:3] == ("review", "entry", "vendor")  # type: ignore[union-attr]
    assert cfg.precedence("p1", "measurement") is None  # readings are not merged
    assert SurvivorshipConfig(enabled=False).precedence("p1", "enterprise") is None


def test_the_rule_of_a_county_and_year() -> None:
    cfg = EvaluationConfig()
    rule, note = cfg.rule("331003", 2022)
    assert (rule.year, note) == (2022, None) and rule.above["tax_per_mu"].benchmark == 24.097
    rule, note = cfg.rule("331003", 2021)
    assert rule.above["tax_per_mu"].benchmark == 26.01 and rule.below == {}
    rule, note = cfg.rule("331003", 2025)
    assert rule.year == 2022 and "2022" in (note or "")
    rule, note = cfg.rule("330302", 2025)
    assert rule.county == "331003" and "evaluation.rules" in (note or "")
    mine = {**PUBLISHED_RULES[1].model_dump(), "county": "330302", "year": 2024}
    rule, note = EvaluationConfig.model_validate({"rules": [mine]}).rule("330302", 2024)
    assert (rule.county, rule.year, note) == ("330302", 2024, None)
