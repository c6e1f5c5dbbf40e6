"""Units (pint): the canonical base units and the Chinese reporting units platforms ask for."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pint

_DEFINITIONS = """
yuan = [currency] = 元
wan_yuan = 10000 * yuan = 万元
yi_yuan = 100000000 * yuan = 亿元
wan_kWh = 10000 * kilowatt_hour = 万千瓦时 = 万kWh
tce = [coal_equivalent] = 吨标准煤
mu = 666.6666666666666 * meter ** 2 = 亩
wan_m3 = 10000 * meter ** 3 = 万立方米
"""

_REGISTRY: Any = None

# Spellings seen in vendor data and platform specs, mapped to pint names.
ALIASES = {
    "kWh": "kilowatt_hour",
    "kwh": "kilowatt_hour",
    "度": "kilowatt_hour",
    "千瓦时": "kilowatt_hour",
    "m3": "meter ** 3",
    "m³": "meter ** 3",
    "立方米": "meter ** 3",
    "m2": "meter ** 2",
    "㎡": "meter ** 2",
    "平方米": "meter ** 2",
    "mg/L": "milligram / liter",
    "mg/m3": "milligram / meter ** 3",
    "mg/m³": "milligram / meter ** 3",
    "L/s": "liter / second",
    "m3/s": "meter ** 3 / second",
    "m3/h": "meter ** 3 / hour",
    "t": "tonne",
    "吨": "tonne",
    "10^4 yuan": "wan_yuan",
    "10^4 kWh": "wan_kWh",
    "10^4 m3": "wan_m3",
    "°C": "degC",
    "℃": "degC",
}


def registry() -> Any:
    global _REGISTRY
    if _REGISTRY is None:
        reg: Any = pint.UnitRegistry(cache_folder=None)
        for line in _DEFINITIONS.strip().splitlines():
            reg.define(line)
        _REGISTRY = reg
    return _REGISTRY


def _unit(name: str) -> Any:
    return registry().parse_units(ALIASES.get(name, name))


@lru_cache(maxsize=256)
def factor(from_unit: str, to_unit: str) -> float:
    """The multiplier that converts a value in `from_unit` into `to_unit` (multiplicative units).

    Raises ValueError naming both units when they are not convertible.
    """
    try:
        return float(registry().Quantity(1.0, _unit(from_unit)).to(_unit(to_unit)).magnitude)
    except (pint.errors.PintError, AttributeError, ValueError) as exc:
        raise ValueError(f"cannot convert {from_unit!r} to {to_unit!r}: {exc}") from None


def convert(value: float, from_unit: str, to_unit: str) -> float:
    if from_unit == to_unit:
        return value
    if ALIASES.get(from_unit, from_unit) in ("degC",) or ALIASES.get(to_unit, to_unit) == "degC":
        reg = registry()
        q = reg.Quantity(value, _unit(from_unit)).to(_unit(to_unit))
        return float(q.magnitude)
    return value * factor(from_unit, to_unit)


EXACT_DIGITS = 15
"""Significant digits a float (IEEE 754 double) holds exactly: any decimal number of up to 15
significant digits survives the round trip through a float and back to text."""


def exact_limit(decimals: int) -> float:
    """The magnitude below which a value kept to `decimals` places is held exactly: 10^13 for
    money in yuan to the fen (10 万亿元), 10^12 for kWh to three places. A number past it
    would be delivered changed (99,999,999,999,999,999 万元 became 1e+17), so it is refused."""
    return float(10 ** (EXACT_DIGITS - decimals))


BASE_UNITS = ("kWh", "m3", "m2", "yuan", "tce")
"""The canonical base units: quantities are stored in these (docs/design.md)."""


@lru_cache(maxsize=256)
def base_unit(name: str) -> str | None:
    """The canonical base unit a value in `name` is stored in (MWh -> kWh, 万元 -> yuan, L ->
    m3), or None when no base unit has its dimension (mg/L, kW). ValueError for a unit pint
    does not know."""
    try:
        _unit(name)
    except (pint.errors.PintError, AttributeError, ValueError, AssertionError) as exc:
        raise ValueError(f"unknown unit {name!r} ({type(exc).__name__})") from None
    for base in BASE_UNITS:
        try:
            factor(name, base)
        except ValueError:
            continue
        return base
    return None
