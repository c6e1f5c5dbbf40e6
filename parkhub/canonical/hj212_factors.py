"""HJ 212-2017 Annex B factor codes (water, gas, noise) as data: metric, name, unit, 2005 code.

Stdlib only and no parkhub imports: this is the canonical layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

Medium = Literal["water", "gas", "noise"]

__all__ = [
    "DATA_FLAGS",
    "DATA_FLAGS_ZH",
    "FACTORS",
    "OLD_TO_NEW",
    "OLD_TO_NEW_GAS",
    "OLD_TO_NEW_WATER",
    "FactorInfo",
    "Medium",
    "medium_for_st",
    "metric_for",
    "new_code_for",
    "passthrough_metric",
]


@dataclass(frozen=True, slots=True)
class FactorInfo:
    """One Annex B factor: its 2017 code, canonical metric and default unit."""

    code: str
    metric: str
    name_zh: str
    unit: str  # default concentration/value unit; "" means dimensionless
    medium: Medium
    old_code: str | None = None  # HJ/T 212-2005 code
    cou_unit: str | None = None  # unit of the -Cou (cumulative) value where it is meaningful
    data_type: str | None = None  # the standard's data type, where formats.md gives it


# Units marked in formats.md 1.6 (CONFIRMED): w00000 L/s, w01018 mg/L N5.1, w21003 mg/L N4.2,
# a00000 m3/s, a01006 kPa, a19001 %, a21002 mg/m3 N5.1, a21026 mg/m3 N5.2, a34013 mg/m3 N4.
# The other units are the usual defaults, cross-checked with a public transcription of Annex B
# (srdgame/lua-HJ212 hj212/tags/info.lua, SEEN). Ambient particulates use ug/m3 because air
# quality stations send them so (see the 2051 air fixture); configure per device if not.
_W: Final = "water"
_G: Final = "gas"
_N: Final = "noise"
_TABLE: tuple[FactorInfo, ...] = (
    # B.1 water (HJ 525-2009)
    FactorInfo("w00000", "wastewater_flow", "污水", "L/s", _W, "B01", "m3"),
    FactorInfo("w01001", "ph", "pH值", "", _W, "001"),
    FactorInfo("w01009", "dissolved_oxygen", "溶解氧", "mg/L", _W),
    FactorInfo("w01010", "water_temperature", "水温", "°C", _W),
    FactorInfo("w01012", "suspended_solids", "悬浮物", "mg/L", _W, "003", "kg"),
    FactorInfo("w01014", "conductivity", "电导率", "uS/cm", _W),
    FactorInfo("w01017", "bod5", "五日生化需氧量", "mg/L", _W, "010", "kg"),
    FactorInfo("w01018", "cod", "化学需氧量", "mg/L", _W, "011", "kg", "N5.1"),
    FactorInfo("w01019", "permanganate_index", "高锰酸盐指数", "mg/L", _W, None, "kg"),
    FactorInfo("w01020", "toc", "总有机碳", "mg/L", _W, "015", "kg"),
    FactorInfo("w20111", "mercury", "总汞", "ug/L", _W, "020", "g"),
    FactorInfo("w20115", "cadmium", "总镉", "ug/L", _W, "022", "g"),
    FactorInfo("w20116", "total_chromium", "总铬", "mg/L", _W, "023", "kg"),
    FactorInfo("w20117", "hexavalent_chromium", "六价铬", "ug/L", _W, "024", "g"),
    FactorInfo("w20119", "arsenic", "总砷", "ug/L", _W, "026", "g"),
    FactorInfo("w20120", "lead", "总铅", "ug/L", _W, "027", "g"),
    FactorInfo("w20121", "nickel", "总镍", "mg/L", _W, "028", "kg"),
    FactorInfo("w20122", "copper", "总铜", "mg/L", _W, "029", "kg"),
    FactorInfo("w20123", "zinc", "总锌", "mg/L", _W, "030", "kg"),
    FactorInfo("w21001", "total_n", "总氮", "mg/L", _W, "065", "kg"),
    FactorInfo("w21003", "ammonia_n", "氨氮", "mg/L", _W, "060", "kg", "N4.2"),
    FactorInfo("w21011", "total_p", "总磷", "mg/L", _W, "101", "kg"),
    FactorInfo("w21016", "cyanide", "氰化物", "mg/L", _W, "070", "kg"),
    FactorInfo("w22001", "petroleum", "石油类", "mg/L", _W, "080", "kg"),
    FactorInfo("w23002", "volatile_phenol", "挥发酚", "mg/L", _W, "110", "kg"),
    # B.2 gas (HJ 524-2009)
    FactorInfo("a00000", "flue_gas_flow", "废气", "m3/s", _G, "B02", "m3"),
    FactorInfo("a01001", "air_temperature", "温度", "°C", _G),
    FactorInfo("a01002", "humidity", "湿度", "%", _G),
    FactorInfo("a01006", "air_pressure", "气压", "kPa", _G),
    FactorInfo("a01007", "wind_speed", "风速", "m/s", _G),
    FactorInfo("a01008", "wind_direction", "风向", "°", _G),
    FactorInfo("a01011", "flue_gas_velocity", "烟气流速", "m/s", _G, "S02"),
    FactorInfo("a01012", "flue_gas_temperature", "烟气温度", "°C", _G, "S03"),
    FactorInfo("a01013", "flue_gas_pressure", "烟气压力", "kPa", _G, "S08"),
    FactorInfo("a01014", "flue_gas_humidity", "烟气湿度", "%", _G, "S05"),
    FactorInfo("a01017", "flue_gas_dynamic_pressure", "烟气动压", "kPa", _G, "S04"),
    FactorInfo("a19001", "o2", "氧气含量", "%", _G, "S01"),
    FactorInfo("a21001", "nh3", "氨", "mg/m3", _G, "10", "kg"),
    FactorInfo("a21002", "nox", "氮氧化物", "mg/m3", _G, "03", "kg", "N5.1"),
    FactorInfo("a21003", "no", "一氧化氮", "mg/m3", _G, None, "kg"),
    FactorInfo("a21004", "no2", "二氧化氮", "mg/m3", _G, None, "kg"),
    FactorInfo("a21005", "co", "一氧化碳", "mg/m3", _G, "04", "kg"),
    FactorInfo("a21024", "hcl", "氯化氢", "mg/m3", _G, "08", "kg"),
    FactorInfo("a21026", "so2", "二氧化硫", "mg/m3", _G, "02", "kg", "N5.2"),
    FactorInfo("a21028", "h2s", "硫化氢", "mg/m3", _G, "05", "kg"),
    FactorInfo("a24088", "nmhc", "非甲烷总烃", "mg/m3", _G, None, "kg"),
    FactorInfo("a25002", "benzene", "苯", "mg/m3", _G, None, "kg"),
    FactorInfo("a25003", "toluene", "甲苯", "mg/m3", _G, "17", "kg"),
    FactorInfo("a25005", "xylene", "二甲苯", "mg/m3", _G, "18", "kg"),
    FactorInfo("a34001", "tsp", "总悬浮颗粒物", "ug/m3", _G),
    FactorInfo("a34002", "pm10", "可吸入颗粒物PM10", "ug/m3", _G),
    FactorInfo("a34004", "pm25", "细颗粒物PM2.5", "ug/m3", _G),
    FactorInfo("a34005", "pm1", "亚微米颗粒物PM1.0", "ug/m3", _G),
    FactorInfo("a34013", "smoke_dust", "烟尘", "mg/m3", _G, "01", "kg", "N4"),
    # B.3 noise
    FactorInfo("LA", "noise_la", "A权声级", "dB", _N),
    FactorInfo("L5", "noise_l5", "累计百分声级L5", "dB", _N),
    FactorInfo("L10", "noise_l10", "累计百分声级L10", "dB", _N),
    FactorInfo("L50", "noise_l50", "累计百分声级L50", "dB", _N),
    FactorInfo("L90", "noise_l90", "累计百分声级L90", "dB", _N),
    FactorInfo("L95", "noise_l95", "累计百分声级L95", "dB", _N),
    FactorInfo("Leq", "noise_leq", "等效声级", "dB", _N),
    FactorInfo("Ldn", "noise_ldn", "昼夜等效声级", "dB", _N),
    FactorInfo("Ld", "noise_ld", "昼间等效声级", "dB", _N),
    FactorInfo("Ln", "noise_ln", "夜间等效声级", "dB", _N),
    FactorInfo("LMx", "noise_lmax", "最大瞬时声级", "dB", _N),
    FactorInfo("LMn", "noise_lmin", "最小瞬时声级", "dB", _N),
)

FACTORS: MappingProxyType[str, FactorInfo] = MappingProxyType({f.code: f for f in _TABLE})

# Water old codes are 3 characters and gas old codes 2 (plus B0x/S0x), so the two maps never
# collide; they are still kept apart because devices reuse 3-digit numbers for their own gas
# channels (e.g. `023` in an ST=31 frame is not total chromium).
OLD_TO_NEW_WATER: MappingProxyType[str, str] = MappingProxyType(
    {f.old_code: f.code for f in _TABLE if f.old_code and f.medium == "water"}
)
OLD_TO_NEW_GAS: MappingProxyType[str, str] = MappingProxyType(
    {f.old_code: f.code for f in _TABLE if f.old_code and f.medium == "gas"}
)
OLD_TO_NEW: MappingProxyType[str, str] = MappingProxyType({**OLD_TO_NEW_WATER, **OLD_TO_NEW_GAS})

# Data marks (HJ 212-2017 Table 8).
DATA_FLAGS: MappingProxyType[str, str] = MappingProxyType(
    {
        "N": "normal",
        "F": "instrument stopped",
        "M": "maintenance",
        "S": "manually entered set value",
        "D": "instrument fault",
        "C": "calibrating",
        "T": "over the measuring upper limit",
        "B": "communication fault between instrument and data logger",
    }
)
DATA_FLAGS_ZH: MappingProxyType[str, str] = MappingProxyType(
    {
        "N": "正常",
        "F": "停运",
        "M": "维护",
        "S": "手工输入的设定值",
        "D": "故障",
        "C": "校准",
        "T": "超测定上限",
        "B": "通讯异常",
    }
)

# ST system codes (Table 5) by the medium their factors belong to.
_WATER_ST = frozenset({"21", "24", "26", "32", "33", "52"})
_GAS_ST = frozenset({"22", "27", "31", "39", "51"})
_NOISE_ST = frozenset({"23", "36"})


def metric_for(code: str) -> FactorInfo | None:
    """The Annex B entry for a 2017 factor code, or None (keep it as `passthrough_metric(code)`).

    >>> metric_for("w01018").metric
    'cod'
    """
    return FACTORS.get(code)


def passthrough_metric(code: str) -> str:
    """The metric name for a code the table does not know: `hj212:<code>`."""
    return f"hj212:{code}"


def medium_for_st(st: str | None) -> Medium | None:
    """The medium whose factors a system code (ST) carries, or None when the ST says nothing."""
    if st in _WATER_ST:
        return "water"
    if st in _GAS_ST:
        return "gas"
    if st in _NOISE_ST:
        return "noise"
    return None


def new_code_for(old_code: str, st: str | None = None) -> str | None:
    """The 2017 code for an HJ/T 212-2005 code, looked up in the table of the frame's medium.

    >>> new_code_for("011", "32"), new_code_for("02", "31"), new_code_for("023", "31")
    ('w01018', 'a21026', None)
    """
    medium = medium_for_st(st)
    if medium == "water":
        return OLD_TO_NEW_WATER.get(old_code)
    if medium == "gas":
        return OLD_TO_NEW_GAS.get(old_code)
    if medium == "noise":
        return None
    return OLD_TO_NEW.get(old_code)
