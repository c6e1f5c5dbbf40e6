"""亩均效益 evaluation, as Zhejiang's counties compute it (docs/mu-average.md): for an evaluation
year or the rolling 12 months to a period, every enterprise of a park scored by its county's
rule (parkhub.policies.scoring), and the park's own totals and 亩均 figures, which feed the
park's annual report (`ParkAnnual`).

The inputs (`mu_inputs`) name the record, revision and source of every figure; the scoring
(`mu_scoring`) is a pure function of them and the rule, so `rescore` recomputes a published
result from its exported inputs alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parkhub.canonical import ParkAnnual
from parkhub.canonical.timeutil import periods_to
from parkhub.config import HubConfig
from parkhub.policies.scoring import BelowSecond, ScoringRule
from parkhub.store import Store

from .mu_inputs import M2_PER_MU, SUMMED, Enterprise, Input, Window, gather
from .mu_scoring import GRADES, WAN, Scored, score


@dataclass
class Evaluation:
    """One park's evaluation: the window, the rule (and why it is that one), every
    enterprise's inputs and result, and the park's totals."""

    park_id: str
    park_name: str
    division_code: str
    window: Window
    rule: ScoringRule
    note: str | None
    below: BelowSecond
    enterprises: list[Enterprise]
    results: list[Scored]
    park: dict[str, Any] = field(default_factory=dict)

    def grades(self) -> dict[str, int]:
        return {g: sum(1 for r in self.results if r.grade == g) for g in GRADES}

    def as_dict(self) -> dict[str, Any]:
        return {
            "park_id": self.park_id,
            "park_name": self.park_name,
            "window": self.window.label,
            "periods": self.window.periods,
            "rule": self.rule.model_dump(mode="json"),
            "rule_note": self.note,
            "below_scale": self.below,
            "inputs": [e.as_dict() for e in self.enterprises],
            "results": [r.as_dict() for r in self.results],
            "park": self.park,
            "grades": self.grades(),
        }


def window_of(*, year: int | None = None, rolling_to: str | None = None) -> Window:
    if rolling_to is not None:
        return Window(periods_to(rolling_to, 12))
    if year is None:
        raise ValueError("give a year or the last period of a rolling window")
    return Window(periods_to(f"{year}-12", 12), year)


def evaluate(
    store: Store,
    config: HubConfig,
    park_id: str,
    *,
    year: int | None = None,
    rolling_to: str | None = None,
    county: str | None = None,
    below: BelowSecond | None = None,
) -> Evaluation:
    """Evaluate one park for a year (or the 12 months to `rolling_to`) by its county's rule
    (`county` overrides the config and the park's division)."""
    park = config.park(park_id)
    window = window_of(year=year, rolling_to=rolling_to)
    evaluation = config.evaluation
    county = county or evaluation.county or park.division_code
    rule, note = evaluation.rule(county, int(window.periods[-1][:4]))
    second = below or evaluation.below_scale or rule.below_second
    enterprises = gather(store, park.record().document(), window)
    results = score(enterprises, rule, second)
    ev = Evaluation(
        park.id, park.name, park.division_code, window, rule, note, second, enterprises, results
    )
    ev.park = park_totals(enterprises, park.land_area_m2)
    return ev


def park_totals(enterprises: list[Enterprise], land_m2: float | None) -> dict[str, Any]:
    """The park's sums over its enterprises and its 亩均 figures per mu of the park's land."""
    sums: dict[str, float] = {}
    for name in (*SUMMED, "employees"):
        sums[name] = sum(e.figures[name].value or 0.0 for e in enterprises)
    mu = land_m2 / M2_PER_MU if land_m2 else None

    def per(top: float, bottom: float | None) -> float | None:
        return round(top / bottom, 6) if bottom else None

    return {
        **{k: round(v, 2) for k, v in sums.items()},
        "land_mu": round(mu, 4) if mu else None,
        "tax_per_mu": per(sums["tax_yuan"] / WAN, mu),
        "value_added_per_mu": per(sums["value_added_yuan"] / WAN, mu),
        "revenue_per_mu": per(sums["revenue_yuan"] / WAN, mu),
        "value_added_per_energy": per(sums["value_added_yuan"] / WAN, sums["energy_tce"]),
        "value_added_per_emission": per(sums["value_added_yuan"] / WAN, sums["emissions_kg"] / 1e3),
        "labour_productivity": per(sums["value_added_yuan"] / WAN, sums["employees"]),
        "rnd_ratio": per(sums["rnd_yuan"], sums["revenue_yuan"]),
        "tax_per_kwh": per(sums["tax_yuan"] / WAN, sums["electricity_kwh"] / WAN),
    }


def park_annual(ev: Evaluation, land_m2: float | None) -> ParkAnnual:
    """The park's annual report of an evaluation year: its totals, its 亩均 figures (yuan per
    mu etc., canonical units) and how its enterprises were graded."""
    assert ev.window.year is not None, "the annual report is of a calendar year"
    p, grades = ev.park, ev.grades()

    def yuan(name: str, scale: float = WAN) -> float | None:
        value = p.get(name)
        return None if value is None else round(value * scale, 2)

    return ParkAnnual(
        park_id=ev.park_id,
        year=ev.window.year,
        park_name=ev.park_name,
        division_code=ev.division_code,
        rule=f"{ev.rule.county_name or ev.rule.county} {ev.rule.year}",
        land_area_m2=land_m2,
        enterprise_count=len(ev.enterprises),
        above_scale_count=sum(1 for e in ev.enterprises if e.above_scale),
        evaluated_count=sum(1 for r in ev.results if r.group is not None),
        **{k: p[k] for k in SUMMED},
        employees=round(p["employees"]),
        tax_per_mu_yuan=yuan("tax_per_mu"),
        value_added_per_mu_yuan=yuan("value_added_per_mu"),
        revenue_per_mu_yuan=yuan("revenue_per_mu"),
        value_added_per_tce_yuan=yuan("value_added_per_energy"),
        value_added_per_t_emission_yuan=yuan("value_added_per_emission"),
        labour_productivity_yuan=yuan("labour_productivity"),
        rnd_ratio=p["rnd_ratio"],
        tax_per_kwh_yuan=yuan("tax_per_kwh", 1.0),
        class_a=grades["A"],
        class_b=grades["B"],
        class_c=grades["C"],
        class_d=grades["D"],
    )


def rescore(exported: dict[str, Any]) -> list[Scored]:
    """The scores of an exported evaluation (`Evaluation.as_dict`), from its inputs and rule
    alone: what a firm contesting its result, or an auditor, recomputes."""
    rule = ScoringRule.model_validate(exported["rule"])
    enterprises = [
        Enterprise(
            e["credit_code"],
            e["name"],
            e["above_scale"],
            _input(e["land_m2"]),
            {name: _input(i) for name, i in e["figures"].items()},
        )
        for e in exported["inputs"]
    ]
    return score(enterprises, rule, exported["below_scale"])


def _input(data: dict[str, Any]) -> Input:
    return Input(data["value"], data["source"], tuple(data["evidence"]))
