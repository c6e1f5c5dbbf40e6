"""The units an operator may write in a column header, per quantity, as factors to the canonical
units (yuan, kWh, tce, m2, persons, kg), and the rounding after conversion."""

from __future__ import annotations

from parkhub.canonical import units

_f = units.factor
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "money": {
        "元": _f("元", "yuan"),
        "万元": _f("万元", "yuan"),
        "亿元": _f("亿元", "yuan"),
        "千元": 1000 * _f("元", "yuan"),
    },
    "electricity": {
        "千瓦时": _f("kWh", "kWh"),
        "kwh": _f("kWh", "kWh"),
        "度": _f("度", "kWh"),
        "万千瓦时": _f("万千瓦时", "kWh"),
        "万kwh": _f("万kWh", "kWh"),
        "万度": _f("万千瓦时", "kWh"),
        "mwh": _f("MWh", "kWh"),
    },
    "energy": {
        "吨标准煤": _f("吨标准煤", "tce"),
        "吨标煤": _f("吨标准煤", "tce"),
        "tce": _f("tce", "tce"),
        "万吨标准煤": 10000 * _f("吨标准煤", "tce"),
        "千克标准煤": 0.001 * _f("吨标准煤", "tce"),
        "kgce": 0.001 * _f("吨标准煤", "tce"),
    },
    "area": {
        "平方米": _f("m2", "m2"),
        "m2": _f("m2", "m2"),
        "万平方米": 10000 * _f("m2", "m2"),
        "亩": _f("亩", "m2"),
    },
    "people": {"人": 1.0, "人数": 1.0, "名": 1.0},
    "mass": {"吨": 1000.0, "t": 1000.0, "千克": 1.0, "公斤": 1.0, "kg": 1.0},
}
"""Units an operator may write in a header, per quantity, as the factor to the canonical unit
(yuan, kWh, tce, m2, persons, kg). Keys are NFKC-normalised and lower-case (㎡ and m² become
m2)."""
DECIMALS = {"money": 2, "electricity": 3, "energy": 4, "area": 2, "people": 0, "mass": 3}
"""Rounding after conversion, so 123.45 万元 is 1234500.0 yuan, not 1234500.0000000002."""
ALL_UNITS = sorted({u for table in UNIT_FACTORS.values() for u in table}, key=len, reverse=True)
"""Every known unit, longest first: 万千瓦时 is found in a header before 千瓦时."""
