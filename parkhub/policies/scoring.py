"""How a county scores 亩均效益, as settings: per county and evaluation year the indicators'
weights and benchmarks and the A/B/C/D cut-offs (docs/mu-average.md).

The province sets the indicators; each county publishes its weights, benchmarks and grading
every year, so they are configuration. The defaults are 黄岩区's published rules for the
evaluation years 2021 and 2022 (reference/mu-average.md); a park whose county has no rule is
scored by the latest published one, and the result says so.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Indicator = Literal[
    "tax_per_mu",
    "value_added_per_mu",
    "value_added_per_energy",
    "value_added_per_emission",
    "labour_productivity",
    "rnd_ratio",
    "tax_per_kwh",
    "revenue_per_mu",
]
INDICATORS: dict[str, tuple[str, str]] = {
    "tax_per_mu": ("亩均税收", "万元/亩"),
    "value_added_per_mu": ("亩均增加值", "万元/亩"),
    "value_added_per_energy": ("单位能耗增加值", "万元/吨标准煤"),
    "value_added_per_emission": ("单位排放增加值", "万元/吨"),
    "labour_productivity": ("全员劳动生产率", "万元/人"),
    "rnd_ratio": ("R&D经费支出占主营业务收入之比", "比值"),
    "tax_per_kwh": ("单位电耗税收", "万元/万千瓦时"),
    "revenue_per_mu": ("亩均营业收入", "万元/亩"),
}
"""Indicator -> (Chinese name, the unit benchmarks are published in)."""
ABOVE_SCALE: tuple[str, ...] = (
    "tax_per_mu",
    "value_added_per_mu",
    "value_added_per_energy",
    "value_added_per_emission",
    "labour_productivity",
    "rnd_ratio",
)
"""The six indicators of above-scale (规上) enterprises, province-wide since 2018."""
BelowSecond = Literal["tax_per_kwh", "revenue_per_mu", "none"]
"""What below-scale firms are scored on besides 亩均税收 (none: 亩均税收 alone)."""


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(_Settings):
    """One indicator's part of the score: value ÷ benchmark × weight (at most `cap`)."""

    weight: float = Field(gt=0)
    benchmark: float = Field(gt=0, description="in the unit of INDICATORS")
    cap: float | None = Field(None, gt=0, description="the most this item can score")


class Classes(_Settings):
    """A/B/C/D: by score (a, b, c are the lowest scores of A, B and C) or by rank share
    (a, b, c are the shares of firms in A, B and C, best first); D is the rest."""

    mode: Literal["score", "share"] = "score"
    a: float = Field(ge=0)
    b: float = Field(ge=0)
    c: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Classes:
        if self.mode == "score" and not self.a >= self.b >= self.c:
            raise ValueError("score cut-offs must be a >= b >= c")
        if self.mode == "share" and self.a + self.b + self.c > 1:
            raise ValueError("shares a + b + c must not exceed 1")
        return self


class ScoringRule(_Settings):
    """One county's rule for one evaluation year."""

    county: str = Field(description="GB/T 2260 county code, e.g. 331003 (黄岩区)")
    county_name: str = ""
    year: int = Field(ge=2000, le=2100, description="the evaluation year (data of that year)")
    above: dict[Indicator, Item] = Field(description="规上企业: indicator -> weight, benchmark")
    below: dict[Indicator, Item] = Field(
        default_factory=dict, description="规下企业: 亩均税收 and the indicators below_second names"
    )
    below_second: BelowSecond = "tax_per_kwh"
    classes: Classes
    missing_emission: Literal["average", "zero"] = Field(
        "average", description="an above-scale firm without emission data: the average item "
        "score of the firms that have it, or zero",
    )  # fmt: skip
    source: str = ""

    @model_validator(mode="after")
    def _indicators(self) -> ScoringRule:
        wrong = [k for k in self.above if k not in ABOVE_SCALE]
        if wrong:
            raise ValueError(f"above-scale indicators are the six: not {', '.join(wrong)}")
        return self

    def below_items(self, second: BelowSecond | None = None) -> dict[Indicator, Item]:
        """The below-scale items: 亩均税收 and the second indicator (`second` overrides the
        rule's); missing benchmarks raise ValueError."""
        chosen = second or self.below_second
        names: list[Indicator] = ["tax_per_mu"]
        if chosen != "none":
            names.append(chosen)
        missing = [INDICATORS[n][0] for n in names if n not in self.below]
        if missing:
            raise ValueError(
                f"{self.county_name or self.county} {self.year} 规则缺少规下企业基准值: "
                f"{'、'.join(missing)} (the rule has no below-scale benchmark for them)"
            )
        return {n: self.below[n] for n in names}


def _above(b: tuple[float, float, float, float, float, float]) -> dict[Indicator, Item]:
    weights = (30, 20, 20, 10, 10, 10)
    names: tuple[Indicator, ...] = (
        "tax_per_mu",
        "value_added_per_mu",
        "value_added_per_energy",
        "value_added_per_emission",
        "labour_productivity",
        "rnd_ratio",
    )
    return {n: Item(weight=w, benchmark=v) for n, w, v in zip(names, weights, b, strict=True)}


PLACEHOLDER_CLASSES = Classes(mode="score", a=120, b=80, c=50)
"""Not published with the rule: a placeholder (A 120+, B 80+, C 50+, D below) until the
county's cut-offs are configured."""
_HUANGYAN = "黄岩区亩均效益评价计分办法 (2022、2023年公布, reference/mu-average.md)"
PUBLISHED_RULES: tuple[ScoringRule, ...] = (
    ScoringRule(
        county="331003",
        county_name="黄岩区",
        year=2021,
        above=_above((26.01, 132.27, 2.54, 4861.08, 17.45, 0.0305)),
        classes=PLACEHOLDER_CLASSES,
        source=_HUANGYAN + "; no below-scale benchmarks published for 2021",
    ),
    ScoringRule(
        county="331003",
        county_name="黄岩区",
        year=2022,
        above=_above((24.097, 136.16, 2.694, 4929.81, 18.14, 0.0302)),
        below={
            "tax_per_mu": Item(weight=50, benchmark=11.5932),
            "tax_per_kwh": Item(weight=50, benchmark=0.2352),
        },
        classes=PLACEHOLDER_CLASSES,
        source=_HUANGYAN,
    ),
)
"""The published defaults: 黄岩区 (Taizhou), evaluation years 2021 and 2022. The A/B/C/D
cut-offs were not published with them (PLACEHOLDER_CLASSES)."""


class EvaluationConfig(_Settings):
    """`evaluation:` in parkhub.yaml."""

    county: str | None = Field(
        None, description="the county whose rule applies (default: each park's division code)"
    )
    below_scale: BelowSecond | None = Field(
        None, description="below-scale firms' second indicator (default: the rule's)"
    )
    rules: list[ScoringRule] = Field(
        default_factory=list, description="counties' rules; they win over the published ones"
    )

    def rule(self, county: str, year: int) -> tuple[ScoringRule, str | None]:
        """The rule for a county and evaluation year, and a note when it is not exactly
        that county's rule of that year (the latest earlier year, or the published default)."""
        known = [*self.rules, *PUBLISHED_RULES]
        own = [r for r in known if r.county == county and r.year <= year]
        exact = [r for r in own if r.year == year]
        if exact:
            return exact[0], None
        if own:
            best = max(own, key=lambda r: r.year)
            return best, (
                f"{year}年无本县规则，沿用{best.year}年基准值 "
                f"(no {year} rule for {county}: the {best.year} benchmarks are used)"
            )
        fallback = max(PUBLISHED_RULES, key=lambda r: r.year)
        return fallback, (
            f"未配置区县 {county} 的评价规则，按已公布的{fallback.county_name}{fallback.year}年"
            f"规则计算 (no rule configured for county {county}: scored by the published "
            f"{fallback.county} {fallback.year} rule; configure `evaluation.rules`)"
        )
