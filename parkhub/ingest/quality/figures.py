"""The rules on enterprise figures (monthly, annual, the roster's 规上 flag): each looks at one
record with its history and says what is wrong, in Chinese and English.

A rule yields `(field, message)`; the gate gives it the rule's name and severity.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from parkhub.canonical.timeutil import periods_to, previous_period, shift_period
from parkhub.policies import QualityRules

from .history import FigureHistory, median

Said = tuple[str, str]
"""(field, message) of one finding."""
ALIKE = ("output_value_yuan", "revenue_yuan", "value_added_yuan")
"""Figures of about one size in any firm: within a few times of each other, never 10,000."""

LABELS = {
    "output_value_yuan": "工业总产值",
    "revenue_yuan": "营业收入",
    "tax_yuan": "税收",
    "profit_yuan": "利润总额",
    "rnd_yuan": "研发费用",
    "value_added_yuan": "工业增加值",
    "employees": "从业人员",
    "electricity_kwh": "用电量",
    "energy_tce": "综合能耗",
    "emissions_kg": "主要污染物排放量",
    "floor_area_m2": "租用面积",
    "land_area_m2": "用地面积",
}


def show(name: str, value: float) -> str:
    """A value as an operator reads it (money in 万元, as the templates ask for it)."""
    if name.endswith("_yuan"):
        return f"{value / 10_000:,.2f} 万元"
    if name.endswith("_kwh"):
        return f"{value:,.0f} 千瓦时"
    if name == "employees":
        return f"{value:,.0f} 人"
    unit = {"energy_tce": " 吨标准煤", "emissions_kg": " 千克", "land_area_m2": " 平方米"}
    return f"{value:,.2f}{unit.get(name, '')}"


def _label(name: str) -> str:
    return f"{LABELS.get(name, name)} ({name})"


def out_of_range(kind: str, doc: dict[str, Any], rules: QualityRules) -> Iterator[Said]:
    for name, bounds in rules.range.limits.get(kind, {}).items():
        value = doc.get(name)
        if value is None:
            continue
        if bounds.max is not None and value > bounds.max:
            yield (
                name,
                (
                    f"{_label(name)} {show(name, value)} 超出上限 {show(name, bounds.max)} "
                    f"(above its bound {bounds.max:g})"
                ),
            )
        elif bounds.min is not None and value < bounds.min:
            yield (
                name,
                (
                    f"{_label(name)} {show(name, value)} 低于下限 {show(name, bounds.min)} "
                    f"(below its bound {bounds.min:g})"
                ),
            )


def tax_over_revenue(doc: dict[str, Any]) -> Iterator[Said]:
    tax, revenue = doc.get("tax_yuan"), doc.get("revenue_yuan")
    if tax is not None and revenue is not None and tax > revenue:
        yield (
            "tax_yuan",
            (
                f"税收 {show('tax_yuan', tax)} 大于营业收入 {show('revenue_yuan', revenue)} "
                "(tax greater than revenue)"
            ),
        )


def unit_mistake(
    kind: str, doc: dict[str, Any], history: FigureHistory, rules: QualityRules
) -> Iterator[Said]:
    """About `factor` times (or 1/`factor`) the enterprise's usual value, or the record's
    other money figures."""
    s = rules.unit_mistake
    low, high = s.factor / s.tolerance, s.factor * s.tolerance
    code = doc["credit_code"]
    for name in s.fields:
        value = doc.get(name)
        if not value:
            continue
        usual = None
        if kind == "enterprise_monthly":
            usual = median(history.series(code, periods_to(doc["period"], 13)[:-1], name))
        elif kind == "enterprise_annual":
            months = history.series(code, periods_to(f"{doc['year']}-12", 12), name)
            usual = sum(months) if len(months) == 12 else None
        basis = ("该企业以往数据", "the enterprise's own history")
        both_ways = usual is not None
        others = [doc[o] for o in ALIKE if o != name and doc.get(o)]
        if usual is None and name in ALIKE and others:
            # no history: figures of one size (output, revenue, value added) are the yardstick,
            # and only a figure too big is told (元 typed into a 万元 column)
            usual = median(others)
            basis = ("同一记录的产值、营收", "the record's output and revenue")
        if not usual:
            continue
        ratio = value / usual
        if low <= ratio <= high or (both_ways and low <= 1 / ratio <= high):
            times = "约一万倍" if ratio > 1 else "约万分之一"
            yield (
                name,
                (
                    f"{_label(name)} {show(name, value)} 是{basis[0]}（{show(name, usual)}）"
                    f"的{times}，疑似单位填错（元/万元） "
                    f"(about {ratio:,.0f}x {basis[1]}: a unit mistake?)"
                ),
            )


def jump(doc: dict[str, Any], history: FigureHistory, rules: QualityRules) -> Iterator[Said]:
    """A monthly figure far from the month before or the same month last year."""
    s = rules.jump
    code, period = doc["credit_code"], doc["period"]
    for name, least in s.min_change.items():
        value = doc.get(name)
        if value is None:
            continue
        for back, ratio, zh, en in (
            (1, s.ratio, "上月", "the month before"),
            (12, s.ratio_yoy, "去年同月", "the same month last year"),
        ):
            before = history.month(code, shift_period(period, -back))
            old = None if before is None else before.get(name)
            if not old or abs(value - old) < least:
                continue
            times = value / old
            if times > ratio or times < 1 / ratio:
                yield (
                    name,
                    (
                        f"{_label(name)} {show(name, value)}，{zh}为 {show(name, old)}，"
                        f"变化 {times:.1f} 倍 ({times:.1f}x {en})"
                    ),
                )
                break


def missing_month(
    doc: dict[str, Any], history: FigureHistory, rules: QualityRules
) -> Iterator[Said]:
    code, period = doc["credit_code"], doc["period"]
    before = shift_period(period, -1)
    if history.month(code, before) is not None:
        return
    earlier = periods_to(shift_period(period, -2), rules.missing_month.lookback - 1)
    if any(history.month(code, p) is not None for p in earlier):
        yield "", f"缺少 {before} 的月度数据 (no figures for {before})"


def intensity(doc: dict[str, Any], history: FigureHistory, rules: QualityRules) -> Iterator[Said]:
    """Output value per kWh far from the enterprise's own norm, or its industry's."""
    s = rules.intensity
    code, period = doc["credit_code"], doc["period"]
    if (doc.get("output_value_yuan") or 0) < s.min_output_yuan:
        return
    ratio = history.intensity(code, period, doc)
    if ratio is None:
        return
    own = [
        r
        for p in periods_to(period, 13)[:-1]
        if (d := history.month(code, p)) is not None and (r := history.intensity(code, p, d))
    ]
    norm, basis = (median(own), ("本企业近12个月", "its own last 12 months"))
    if len(own) < 3:
        division = (history.roster.get(code, {}).get("industry_code") or "")[:2]
        peers = list(history.peers.get((division, period), []))
        if ratio in peers:
            peers.remove(ratio)
        if len(peers) < s.min_peers:
            return
        norm, basis = median(peers), (f"园区同行业（{division}）企业", f"industry {division}")
    if not norm:
        return
    times = ratio / norm
    if times > s.ratio or times < 1 / s.ratio:
        yield (
            "output_value_yuan",
            (
                f"每千瓦时产值 {ratio:,.1f} 元，{basis[0]}约 {norm:,.1f} 元（{times:.1f} 倍），"
                f"申报产值与计量电量不符 (output per kWh {times:.1f}x {basis[1]})"
            ),
        )


def scale(
    kind: str, doc: dict[str, Any], history: FigureHistory, rules: QualityRules
) -> Iterator[Said]:
    """规上 status against a year's revenue (the 2,000 万元 threshold)."""
    s = rules.scale
    code = doc["credit_code"]
    if kind == "enterprise":
        above = doc.get("above_scale")
        months = history.series(code, periods_to(previous_period(), 12), "revenue_yuan")
        revenue = sum(months) if len(months) == 12 else None
    elif kind == "enterprise_annual":
        above, revenue = history.roster.get(code, {}).get("above_scale"), doc.get("revenue_yuan")
    else:  # a December completes a calendar year
        if not doc["period"].endswith("-12"):
            return
        above = history.roster.get(code, {}).get("above_scale")
        months = history.series(code, periods_to(doc["period"], 12), "revenue_yuan")
        revenue = sum(months) if len(months) == 12 else None
    if above is None or revenue is None:
        return
    if above and revenue < s.threshold_yuan * (1 - s.margin):
        yield (
            "above_scale",
            (
                f"规上企业年营业收入 {show('revenue_yuan', revenue)}，低于 2000 万元 "
                "(above-scale, but a year's revenue is under the 20 million yuan threshold)"
            ),
        )
    elif not above and revenue >= s.threshold_yuan * (1 + s.margin):
        yield (
            "above_scale",
            (
                f"规下企业年营业收入 {show('revenue_yuan', revenue)}，已超过 2000 万元 "
                "(below-scale, but a year's revenue is over the threshold)"
            ),
        )
