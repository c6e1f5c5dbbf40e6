"""Deterministic sample park data for the simulators: a Wenzhou park with its enterprises."""

from __future__ import annotations

import random

from stdnum.cn import uscc

_ORG_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_check(body: str) -> str:
    """GB 11714 organization-code check character for an 8-character body."""
    total = sum(_ORG_CHARS.index(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def credit_code(division: str, serial: int) -> str:
    """A synthetic but valid USCC: 91 + division + a body no registrar assigns (starts 0000)."""
    body = f"0000{serial:04d}"
    first17 = "91" + division + body + org_check(body)
    return first17 + uscc.calc_check_digit(first17)


NAMES = [
    ("温州市鹿城区鸿图鞋业有限公司", "1952", True),
    ("温州瓯江电气有限公司", "3823", True),
    ("温州市永强阀门制造有限公司", "3443", False),
    ("温州明视眼镜有限公司", "3587", False),
    ("温州华泰汽车部件有限公司", "3670", True),
    ("温州市新潮服饰有限公司", "1819", False),
    ("温州盛达包装印刷有限公司", "2319", False),
    ("温州市力拓泵业有限公司", "3441", False),
    ("温州正通开关有限公司", "3823", False),
    ("温州市飞鹰鞋材有限公司", "1959", False),
    ("温州瑞丰光伏科技有限公司", "3825", True),
    ("温州市恒信液压件有限公司", "3444", False),
]


def enterprises(division: str = "330302", count: int = 12) -> list[dict[str, object]]:
    rng = random.Random(2026)
    out: list[dict[str, object]] = []
    for i in range(count):
        name, industry, above = NAMES[i % len(NAMES)]
        if i >= len(NAMES):
            name = name.replace("有限公司", f"{i}号有限公司")
        out.append(
            {
                "entId": f"E{i + 1:04d}",
                "entName": name,
                "creditCode": credit_code(division, i + 1),
                "industryCode": industry,
                "scaleType": "规上" if above else "规下",
                "rentArea": round(rng.uniform(800, 6000), 1),
                "enterTime": f"20{19 + i % 5}-0{1 + i % 9}-15",
                "status": 1,
                "contact": "张工",
                "updateTime": "2026-09-30 18:00:00",
            }
        )
    return out
