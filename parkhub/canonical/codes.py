"""Code lists: GB/T 2260 divisions (Wenzhou), GB/T 4754-2017 sections and common classes."""

from __future__ import annotations

# GB/T 2260 county-level divisions of Wenzhou (NBS codes as of 2023-06-30).
DIVISIONS: dict[str, str] = {
    "330300": "温州市",
    "330302": "鹿城区",
    "330303": "龙湾区",
    "330304": "瓯海区",
    "330305": "洞头区",
    "330324": "永嘉县",
    "330326": "平阳县",
    "330327": "苍南县",
    "330328": "文成县",
    "330329": "泰顺县",
    "330381": "瑞安市",
    "330382": "乐清市",
    "330383": "龙港市",
}
# Old codes still found in records, mapped to the current one.
DIVISION_ALIASES: dict[str, str] = {"330322": "330305"}

INDUSTRY_SECTIONS: dict[str, str] = {
    "A": "农、林、牧、渔业",
    "B": "采矿业",
    "C": "制造业",
    "D": "电力、热力、燃气及水生产和供应业",
    "E": "建筑业",
    "F": "批发和零售业",
    "G": "交通运输、仓储和邮政业",
    "H": "住宿和餐饮业",
    "I": "信息传输、软件和信息技术服务业",
    "J": "金融业",
    "K": "房地产业",
    "L": "租赁和商务服务业",
    "M": "科学研究和技术服务业",
    "N": "水利、环境和公共设施管理业",
    "O": "居民服务、修理和其他服务业",
    "P": "教育",
    "Q": "卫生和社会工作",
    "R": "文化、体育和娱乐业",
    "S": "公共管理、社会保障和社会组织",
    "T": "国际组织",
}

# GB/T 4754-2017 classes typical of Wenzhou parks; other 4-digit codes are accepted by shape.
INDUSTRY_CLASSES: dict[str, str] = {
    "1951": "纺织面料鞋制造",
    "1952": "皮鞋制造",
    "1953": "塑料鞋制造",
    "1954": "橡胶鞋制造",
    "1959": "其他制鞋业",
    "1811": "运动机织服装制造",
    "1819": "其他机织服装制造",
    "1821": "运动休闲针织服装制造",
    "1829": "其他针织或钩针编织服装制造",
    "3821": "变压器、整流器和电感器制造",
    "3822": "电容器及其配套设备制造",
    "3823": "配电开关控制设备制造",
    "3824": "电力电子元器件制造",
    "3825": "光伏设备及元器件制造",
    "3829": "其他输配电及控制设备制造",
    "3441": "泵及真空设备制造",
    "3442": "气体压缩机械制造",
    "3443": "阀门和旋塞制造",
    "3444": "液压动力机械及元件制造",
    "3445": "液力动力机械元件制造",
    "3446": "气压动力机械及元件制造",
    "3670": "汽车零部件及配件制造",
    "3587": "眼镜制造",
    "2319": "包装装潢及其他印刷",
    "2320": "装订及印刷相关服务",
}

# Manufacturing divisions 13-43 form section C.
_SECTION_BY_DIVISION: list[tuple[int, int, str]] = [
    (1, 5, "A"), (6, 12, "B"), (13, 43, "C"), (44, 46, "D"), (47, 50, "E"), (51, 52, "F"),
    (53, 60, "G"), (61, 62, "H"), (63, 65, "I"), (66, 69, "J"), (70, 70, "K"), (71, 72, "L"),
    (73, 75, "M"), (76, 79, "N"), (80, 82, "O"), (83, 83, "P"), (84, 85, "Q"), (86, 90, "R"),
    (91, 96, "S"), (97, 97, "T"),
]  # fmt: skip


def normalize_division(code: str) -> str:
    """Return the current GB/T 2260 code; raise ValueError for a code of the wrong shape."""
    code = code.strip()
    if len(code) == 12 and code.isdigit():  # NBS statistical code: keep the county part
        code = code[:6]
    if len(code) != 6 or not code.isdigit():
        raise ValueError(f"行政区划代码应为6位数字 (division code must be 6 digits: {code!r})")
    return DIVISION_ALIASES.get(code, code)


def industry_section(code: str) -> str:
    """The GB/T 4754 section letter of a 2-4 digit industry code."""
    code = code.strip().upper()
    if code and code[0].isalpha():
        code = code[1:]
    if not (2 <= len(code) <= 4 and code.isdigit()):
        raise ValueError(f"行业代码格式错误 (industry code must be GB/T 4754 digits: {code!r})")
    division = int(code[:2])
    for low, high, section in _SECTION_BY_DIVISION:
        if low <= division <= high:
            return section
    raise ValueError(f"行业代码不存在 (no GB/T 4754 division {code[:2]})")


def normalize_industry(code: str) -> str:
    """Digits only, section letter stripped; validates the division exists."""
    industry_section(code)
    code = code.strip().upper()
    return code[1:] if code[0].isalpha() else code
