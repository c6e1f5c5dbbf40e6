"""The inputs of a 亩均 evaluation, read from the stored records, each with where it came
from: the record, its revision and the source that set the figure (firms may contest their
data, so every number names its evidence).

For each enterprise of the park and each figure: the year's own record (`enterprise_annual`)
where it gives the figure, else the sum of the monthly figures over the window; employees are
the annual average, else the mean of the months; emissions, when neither gives them, are the
HJ 212 totals (`cou` of COD, 氨氮, SO2, NOx) of the enterprise's monitors; land is the
enterprise's own, else its share of the park's land by the floor area it rents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from parkhub.canonical.timeutil import SHANGHAI, month_bounds
from parkhub.canonical.units import factor
from parkhub.store import Store, Stored

M2_PER_MU = 1 / factor("m2", "亩")
SUMMED = ("tax_yuan", "value_added_yuan", "revenue_yuan", "energy_tce", "emissions_kg",
          "electricity_kwh", "rnd_yuan")  # fmt: skip
"""Figures summed over the window's months (an annual record gives them whole)."""
POLLUTANTS = ("cod", "ammonia_n", "so2", "nox")
"""主要污染物: the HJ 212 factors whose totals (`cou`, kg) make an enterprise's emissions."""


@dataclass(frozen=True)
class Input:
    """One figure of one enterprise, and its evidence (`record#key rN (source)` each)."""

    value: float | None
    source: str
    evidence: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source, "evidence": list(self.evidence)}


@dataclass
class Enterprise:
    """What the evaluation knows of one enterprise."""

    credit_code: str
    name: str
    above_scale: bool
    land_m2: Input
    figures: dict[str, Input] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "credit_code": self.credit_code,
            "name": self.name,
            "above_scale": self.above_scale,
            "land_m2": self.land_m2.as_dict(),
            "figures": {k: v.as_dict() for k, v in self.figures.items()},
        }


@dataclass
class Window:
    """The months evaluated: a calendar year, or the 12 months to a period (rolling)."""

    periods: list[str]
    year: int | None = None

    @property
    def label(self) -> str:
        if self.year is not None:
            return f"{self.year}年度"
        return f"{self.periods[0]}至{self.periods[-1]}（近12个月）"

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        return month_bounds(self.periods[0])[0], month_bounds(self.periods[-1])[1]


def _cite(kind: str, key: str, s: Stored, name: str) -> str:
    return f"{kind}#{key} r{s.revision} ({s.source_of(name) or s.source})"


def gather(store: Store, park: dict[str, Any], window: Window) -> list[Enterprise]:
    """Every enterprise of the park in the window, with its inputs."""
    park_id = park["park_id"]
    roster = store.records.stored_in("enterprise", park_id=park_id)
    months = {
        p: store.records.stored_in("enterprise_monthly", park_id=park_id, key_suffix=f"|{p}")
        for p in window.periods
    }
    annual = (
        store.records.stored_in("enterprise_annual", park_id=park_id, key_suffix=f"|{window.year}")
        if window.year is not None
        else {}
    )
    start, end = window.bounds()
    emitted = _emissions(store, park_id, start, end)
    metered = _metered(store, park_id, start, end)
    floor_total = park.get("floor_area_m2") or sum(
        s.doc.get("floor_area_m2") or 0.0 for s in roster.values()
    )
    out = []
    for code, ent in sorted(roster.items()):
        if not _active(ent.doc, window):
            continue
        mine = {p: months[p].get(f"{code}|{p}") for p in window.periods}
        year = annual.get(f"{code}|{window.year}")
        figures = {name: _summed(code, name, year, mine) for name in SUMMED}
        figures["employees"] = _average(code, year, mine)
        if figures["emissions_kg"].value is None and code in emitted:
            kg, cited = emitted[code]
            figures["emissions_kg"] = Input(kg, "在线监测 HJ 212 排放量合计", cited)
        if figures["electricity_kwh"].value is None and code in metered:
            kwh, cited = metered[code]
            figures["electricity_kwh"] = Input(kwh, "电表日用电量合计 (metered)", cited)
        out.append(
            Enterprise(
                code,
                ent.doc.get("name", ""),
                bool(ent.doc.get("above_scale")),
                _land(code, ent, park, floor_total),
                figures,
            )
        )
    return out


def _active(doc: dict[str, Any], window: Window) -> bool:
    """In the park at some time in the window."""
    start = window.periods[0] + "-01"
    last = window.periods[-1] + "-31"
    entered, left = doc.get("entered_on"), doc.get("left_on")
    if entered and str(entered) > last:
        return False
    return not (doc.get("status") == "left" and left and str(left) < start)


def _summed(code: str, name: str, year: Stored | None, months: dict[str, Stored | None]) -> Input:
    if year is not None and year.doc.get(name) is not None:
        key = f"{code}|{year.doc['year']}"
        return Input(
            float(year.doc[name]), "年度数据", (_cite("enterprise_annual", key, year, name),)
        )
    given = [(p, s) for p, s in months.items() if s is not None and s.doc.get(name) is not None]
    if not given:
        return Input(None, "无数据 (no data)")
    total = sum(float(s.doc[name]) for _, s in given)
    cited = tuple(_cite("enterprise_monthly", f"{code}|{p}", s, name) for p, s in given)
    return Input(total, f"月度数据 {len(given)}/{len(months)} 个月合计", cited)


def _average(code: str, year: Stored | None, months: dict[str, Stored | None]) -> Input:
    if year is not None and year.doc.get("employees") is not None:
        key = f"{code}|{year.doc['year']}"
        cite = _cite("enterprise_annual", key, year, "employees")
        return Input(float(year.doc["employees"]), "年度数据（年平均职工人数）", (cite,))
    given = [(p, s) for p, s in months.items() if s is not None and s.doc.get("employees")]
    if not given:
        return Input(None, "无数据 (no data)")
    mean = sum(float(s.doc["employees"]) for _, s in given) / len(given)
    cited = tuple(_cite("enterprise_monthly", f"{code}|{p}", s, "employees") for p, s in given)
    return Input(round(mean, 2), f"月度从业人员 {len(given)} 个月平均", cited)


def _land(code: str, ent: Stored, park: dict[str, Any], floor_total: float) -> Input:
    own = ent.doc.get("land_area_m2")
    cite = _cite("enterprise", code, ent, "land_area_m2")
    if own:
        return Input(float(own), "企业独立用地", (cite,))
    rented, park_land = ent.doc.get("floor_area_m2"), park.get("land_area_m2")
    if rented and park_land and floor_total:
        share = park_land * rented / floor_total
        how = (
            f"按租用面积分摊园区用地：{park_land / M2_PER_MU:,.2f} 亩 × {rented:,.1f} ㎡ ÷ "
            f"{floor_total:,.1f} ㎡"
        )
        return Input(share, how, (_cite("enterprise", code, ent, "floor_area_m2"), "park#config"))
    return Input(None, "无用地面积 (no land, no rented floor area)")


def _series_totals(
    store: Store, park_id: str, start: dt.datetime, end: dt.datetime, suffixes: list[str]
) -> dict[str, tuple[float, tuple[str, ...]]]:
    """Per enterprise: the sum of these series, a day's value preferred over its hours."""
    by_day: dict[tuple[str, str, str, str], dict[str, float]] = {}
    devices: dict[str, set[str]] = {}
    for m in store.records.docs_between(
        "measurement", park_id=park_id, start=start, end=end, key_suffixes=suffixes
    ):
        code, value = m.get("credit_code"), m.get("value")
        if not code or value is None:
            continue
        day = dt.datetime.fromisoformat(m["ts"]).astimezone(SHANGHAI).date().isoformat()
        slot = by_day.setdefault((code, m["device_id"], m["metric"], day), {})
        slot[m["period"]] = slot.get(m["period"], 0.0) + float(value)
        devices.setdefault(code, set()).add(f"measurement:{m['device_id']}/{m['metric']}")
    totals: dict[str, float] = {}
    for (code, *_), slot in by_day.items():
        totals[code] = totals.get(code, 0.0) + slot.get("day", slot.get("hour", 0.0))
    return {c: (round(v, 3), tuple(sorted(devices[c]))) for c, v in totals.items()}


def _emissions(
    store: Store, park_id: str, start: dt.datetime, end: dt.datetime
) -> dict[str, tuple[float, tuple[str, ...]]]:
    suffixes = [f"|{p}|cou|{period}" for p in POLLUTANTS for period in ("day", "hour")]
    return _series_totals(store, park_id, start, end, suffixes)


def _metered(
    store: Store, park_id: str, start: dt.datetime, end: dt.datetime
) -> dict[str, tuple[float, tuple[str, ...]]]:
    suffixes = ["|electricity|cou|day", "|electricity|day", "|electricity|cou|hour"]
    return _series_totals(store, park_id, start, end, suffixes)
