"""Scoring 亩均效益 as a county does: the indicators from an enterprise's inputs (in the units
the county publishes benchmarks in), each item = indicator ÷ benchmark × weight (at most its
cap), the total, the rank within 规上 or 规下, and the A/B/C/D class.

A pure function of the inputs and the rule: the same inputs give the same scores, wherever
they were read from (docs/mu-average.md has a worked example).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from parkhub.policies.scoring import INDICATORS, BelowSecond, Classes, Item, ScoringRule

from .mu_inputs import M2_PER_MU, Enterprise

WAN = 10_000.0
GRADES = ("A", "B", "C", "D")


def indicators(e: Enterprise) -> dict[str, float | None]:
    """The eight indicators of one enterprise, in the published units (万元/亩, ...)."""
    f = {name: i.value for name, i in e.figures.items()}
    mu = e.land_m2.value / M2_PER_MU if e.land_m2.value else None

    def per(top: float | None, bottom: float | None) -> float | None:
        return top / bottom if top is not None and bottom else None

    def wan(name: str) -> float | None:
        value = f.get(name)
        return None if value is None else value / WAN

    tonnes = None if f.get("emissions_kg") is None else f["emissions_kg"] / 1000  # type: ignore[operator]
    return {
        "tax_per_mu": per(wan("tax_yuan"), mu),
        "value_added_per_mu": per(wan("value_added_yuan"), mu),
        "value_added_per_energy": per(wan("value_added_yuan"), f.get("energy_tce")),
        "value_added_per_emission": per(wan("value_added_yuan"), tonnes),
        "labour_productivity": per(wan("value_added_yuan"), f.get("employees")),
        "rnd_ratio": per(wan("rnd_yuan"), wan("revenue_yuan")),
        "tax_per_kwh": per(wan("tax_yuan"), wan("electricity_kwh")),
        "revenue_per_mu": per(wan("revenue_yuan"), mu),
    }


@dataclass
class Scored:
    """One enterprise's result: its group (above / below; None when it cannot be scored), its
    indicators and item scores, the total, its rank in the group and its class."""

    enterprise: Enterprise
    group: str | None
    indicators: dict[str, float | None]
    items: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    total: float | None = None
    rank: int | None = None
    grade: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "credit_code": self.enterprise.credit_code,
            "name": self.enterprise.name,
            "group": self.group,
            "indicators": self.indicators,
            "items": self.items,
            "total": self.total,
            "rank": self.rank,
            "grade": self.grade,
            "notes": self.notes,
        }


def item_score(value: float, item: Item) -> float:
    """value ÷ benchmark × weight, at most the item's cap."""
    score = value / item.benchmark * item.weight
    return min(score, item.cap) if item.cap is not None else score


def score(
    enterprises: Sequence[Enterprise], rule: ScoringRule, below: BelowSecond | None = None
) -> list[Scored]:
    """Score every enterprise by `rule`; `below` overrides the rule's second indicator for
    below-scale firms. Firms without tax or land cannot be scored (group None, noted)."""
    below_items = rule.below_items(below) if rule.below else {}
    out = []
    for e in enterprises:
        ind = indicators(e)
        scored = Scored(e, None, ind)
        out.append(scored)
        missing = [n for n, i in (("税收", e.figures["tax_yuan"]), ("用地面积", e.land_m2))
                   if i.value is None]  # fmt: skip
        items = rule.above if e.above_scale else below_items
        if missing or not items:
            why = "缺少" + "、".join(missing) if missing else "本规则无规下企业基准值"
            scored.notes.append(f"未评价：{why} (not scored)")
            continue
        scored.group = "above" if e.above_scale else "below"
        for name, item in items.items():
            value = ind[name]
            if value is None:
                if name != "value_added_per_emission" or rule.missing_emission == "zero":
                    scored.items[name] = 0.0
                    scored.notes.append(f"{INDICATORS[name][0]}缺少数据，得0分")
                continue
            scored.items[name] = item_score(value, item)
    _missing_emissions(out, rule)
    for group in ("above", "below"):
        ranked = [s for s in out if s.group == group]
        for s in ranked:
            s.total = sum(s.items.values())
        ranked.sort(key=lambda s: -(s.total or 0.0))
        for rank, s in enumerate(ranked, start=1):
            s.rank = rank
        _grade(ranked, rule.classes)
    return out


def _missing_emissions(out: list[Scored], rule: ScoringRule) -> None:
    """An above-scale firm without emission data gets the average item score of those with."""
    name = "value_added_per_emission"
    if name not in rule.above or rule.missing_emission != "average":
        return
    above = [s for s in out if s.group == "above"]
    given = [s.items[name] for s in above if name in s.items]
    average = sum(given) / len(given) if given else 0.0
    for s in above:
        if name not in s.items:
            s.items[name] = average
            s.notes.append(f"无排放数据，单位排放增加值按平均分 {average:.2f} 计")


def _grade(ranked: list[Scored], classes: Classes) -> None:
    """Classes by score cut-offs, or by rank share (best first)."""
    if classes.mode == "score":
        for s in ranked:
            total = s.total or 0.0
            lows = (classes.a, classes.b, classes.c, 0.0)
            s.grade = next(g for g, low in zip(GRADES, lows, strict=True) if total >= low)
        return
    n = len(ranked)
    bounds, seen = [], 0.0
    for share in (classes.a, classes.b, classes.c):
        seen += share
        bounds.append(math.floor(seen * n + 0.5))
    bounds.append(n)
    for index, s in enumerate(ranked):
        s.grade = next(g for g, b in zip(GRADES, bounds, strict=True) if index < b)
