"""Reading what operators enter: .xlsx workbooks (ours or their own) and CSV exports.

The `manual` vendor adapter turns these rows into canonical records; the template writer uses the
same column definitions, so what the template writes is exactly what the importer reads. Every
problem is a `CellProblem` (Chinese and English, with the bad value) that the adapter turns into
an `EntryError` naming sheet, row, column and value.

Imports only parkhub.canonical, parkhub.errors and parkhub.adapters.base (adapter layer).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from parkhub.canonical import units
from parkhub.canonical.codes import normalize_industry
from parkhub.canonical.identifiers import CreditCodeCheck, check_credit_code
from parkhub.errors import InputError

MONTHLY = "enterprise_monthly"
ROSTER = "enterprise_roster"
KINDS = (MONTHLY, ROSTER)
KIND_LABELS = {MONTHLY: "企业月度经营数据", ROSTER: "入园企业名录"}
SHEET_NAMES = {MONTHLY: "月度数据", ROSTER: "企业名录"}
INSTRUCTIONS_SHEET = "填写说明"
META_SHEET = "_parkhub"
TEMPLATE_VERSION = "1"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv"

HEADER_SCAN_ROWS = 30
"""The header row is looked for in the first rows of a sheet (titles may come first)."""
MAX_BLANK_RUN = 2000
"""Reading a sheet stops after this many consecutive blank rows."""

ColumnKind = Literal[
    "credit_code", "text", "period", "amount", "signed_amount", "count", "yes_no", "date",
    "status", "industry", "ignore",
]  # fmt: skip


# -- units ------------------------------------------------------------------------------------

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
}
"""Units an operator may write in a header, per quantity, as the factor to the canonical unit
(yuan, kWh, tce, m2, persons). Keys are NFKC-normalised and lower-case (㎡ and m² become m2)."""
DECIMALS = {"money": 2, "electricity": 3, "energy": 4, "area": 2, "people": 0}
"""Rounding after conversion, so 123.45 万元 is 1234500.0 yuan, not 1234500.0000000002."""
_ALL_UNITS = sorted({u for table in UNIT_FACTORS.values() for u in table}, key=len, reverse=True)


# -- columns ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an entry sheet: what the template writes and what the importer accepts."""

    field: str
    """Canonical field name (`name` and `remarks` are informational in the monthly sheet)."""
    label: str
    """Chinese header without the unit, e.g. 工业总产值."""
    kind: ColumnKind
    unit: str | None = None
    """Unit the template uses (shown in the header), e.g. 万元."""
    quantity: str | None = None
    """Key of UNIT_FACTORS for quantities."""
    aliases: tuple[str, ...] = ()
    required: bool = False
    locked: bool = False
    """Written by the template and protected against accidental edits."""
    width: float = 14.0
    help: str = ""
    """Input message shown in Excel when the cell is selected (at most 255 characters)."""
    choices: tuple[str, ...] = ()

    @property
    def header(self) -> str:
        return f"{self.label}({self.unit})" if self.unit else self.label


_CODE = Column(
    "credit_code",
    "统一社会信用代码",
    "credit_code",
    aliases=("信用代码", "社会信用代码", "统一代码", "企业信用代码", "uscc", "credit_code"),
    required=True,
    locked=True,
    width=24,
    help="18位统一社会信用代码（文本）。已预填的行不可修改；空白行可填写新企业。",
)
_REMARKS = Column(
    "remarks",
    "备注",
    "ignore",
    aliases=("说明", "remark", "remarks", "note"),
    width=24,
    help="可选，仅供园区内部备注，不导入、不上报。",
)

MONTHLY_COLUMNS: tuple[Column, ...] = (
    _CODE,
    Column(
        "name",
        "企业名称",
        "text",
        aliases=("名称", "企业", "单位名称", "公司名称", "name", "enterprise"),
        locked=True,
        width=32,
        help="企业名称，按名录预填，仅供核对（导入时不修改名录）。",
    ),
    Column(
        "period",
        "统计期间",
        "period",
        aliases=("期间", "月份", "统计月份", "所属期", "所属期间", "报告期", "period"),
        required=True,
        locked=True,
        width=12,
        help="统计月份，格式 YYYY-MM，例如 2026-10。",
    ),
    Column(
        "output_value_yuan",
        "工业总产值",
        "amount",
        "万元",
        "money",
        aliases=("产值", "工业产值", "总产值", "output_value", "output_value_yuan"),
        help="当月工业总产值，单位万元，可保留4位小数，不能为负。",
    ),
    Column(
        "revenue_yuan",
        "营业收入",
        "amount",
        "万元",
        "money",
        aliases=("营收", "主营业务收入", "销售收入", "revenue", "revenue_yuan"),
        help="当月营业收入，单位万元，不能为负。",
    ),
    Column(
        "tax_yuan",
        "税收",
        "amount",
        "万元",
        "money",
        aliases=("实缴税金", "实缴税收", "纳税额", "税金", "税收收入", "tax", "tax_yuan"),
        help="当月实缴税收，单位万元，不能为负。",
    ),
    Column(
        "profit_yuan",
        "利润总额",
        "signed_amount",
        "万元",
        "money",
        aliases=("利润", "profit", "profit_yuan"),
        help="当月利润总额，单位万元；亏损填负数，例如 -12.5。",
    ),
    Column(
        "rnd_yuan",
        "研发费用",
        "amount",
        "万元",
        "money",
        aliases=("研发投入", "研发经费", "r&d", "rnd", "rnd_yuan"),
        help="当月研发费用，单位万元，不能为负。",
    ),
    Column(
        "employees",
        "从业人员",
        "count",
        "人",
        "people",
        aliases=("从业人数", "员工人数", "职工人数", "用工人数", "在职人数", "employees"),
        width=12,
        help="月末从业人员数，整数（人）。",
    ),
    Column(
        "electricity_kwh",
        "用电量",
        "amount",
        "万千瓦时",
        "electricity",
        aliases=("用电", "电量", "耗电量", "electricity", "electricity_kwh"),
        width=16,
        help="当月用电量，单位万千瓦时（1万千瓦时 = 10000度），不能为负。",
    ),
    Column(
        "energy_tce",
        "综合能耗",
        "amount",
        "吨标准煤",
        "energy",
        aliases=("能耗", "综合能源消费量", "energy", "energy_tce"),
        width=16,
        help="当月综合能耗，单位吨标准煤，不能为负。",
    ),
    _REMARKS,
)

ROSTER_COLUMNS: tuple[Column, ...] = (
    _CODE,
    Column(
        "name",
        "企业名称",
        "text",
        aliases=("名称", "企业", "单位名称", "公司名称", "name", "enterprise"),
        required=True,
        width=32,
        help="企业全称，与营业执照一致。",
    ),
    Column(
        "industry_code",
        "行业代码",
        "industry",
        aliases=("行业", "国民经济行业代码", "行业分类代码", "所属行业代码", "industry_code"),
        help="国民经济行业分类 GB/T 4754-2017 代码，2至4位数字，例如 3823。",
    ),
    Column(
        "above_scale",
        "是否规上企业",
        "yes_no",
        aliases=("规上企业", "是否规上", "规模以上企业", "规上", "above_scale"),
        width=14,
        help="规模以上工业企业选“是”，否则选“否”。",
        choices=("是", "否"),
    ),
    Column(
        "floor_area_m2",
        "租用面积",
        "amount",
        "平方米",
        "area",
        aliases=("厂房面积", "使用面积", "租赁面积", "入驻面积", "floor_area", "floor_area_m2"),
        help="租用（使用）的建筑面积，单位平方米，不能为负。",
    ),
    Column(
        "land_area_m2",
        "用地面积",
        "amount",
        "平方米",
        "area",
        aliases=("占地面积", "land_area", "land_area_m2"),
        help="企业独立用地面积，单位平方米；无独立用地可不填。",
    ),
    Column(
        "entered_on",
        "入园日期",
        "date",
        aliases=("入驻日期", "入园时间", "入驻时间", "entered_on"),
        width=12,
        help="入园日期，例如 2023-05-12。",
    ),
    Column(
        "left_on",
        "迁出日期",
        "date",
        aliases=("退园日期", "迁出时间", "退园时间", "left_on"),
        width=12,
        help="已迁出企业的迁出日期；在园企业不填。",
    ),
    Column(
        "status",
        "状态",
        "status",
        aliases=("在园状态", "企业状态", "status"),
        width=10,
        help="在园 或 已迁出。",
        choices=("在园", "已迁出"),
    ),
    Column(
        "contact",
        "联系人及电话",
        "text",
        aliases=("联系人", "联系方式", "联系电话", "contact"),
        width=22,
        help="企业联系人及电话，可选。",
    ),
    _REMARKS,
)

COLUMNS: dict[str, tuple[Column, ...]] = {MONTHLY: MONTHLY_COLUMNS, ROSTER: ROSTER_COLUMNS}
IGNORED_HEADERS = frozenset({"序号", "编号", "no", "no.", "#", "行号"})
"""Headers operators add that are skipped without a warning."""
TOTAL_MARKERS = frozenset({"合计", "总计", "小计", "合计:", "total"})


# -- problems ---------------------------------------------------------------------------------


class CellProblem(ValueError):
    """A value the importer cannot take: the reason in Chinese and in English."""

    def __init__(self, zh: str, en: str) -> None:
        self.zh = zh
        self.en = en
        super().__init__(f"{zh} ({en})")


class EntryFileError(CellProblem):
    """The file as a whole cannot be read (not a workbook, wrong encoding, no header)."""


class EntryError(InputError):
    """A problem in an entry file, located as the operator sees it: sheet, row, column, cell."""

    def __init__(
        self,
        source: str,
        sheet: str,
        row: int | None,
        column: str | None,
        value: Any,
        zh: str,
        en: str,
        *,
        cell: str | None = None,
    ) -> None:
        self.sheet = sheet
        self.row = row
        self.column = column
        self.value = value
        self.reason_zh = zh
        self.reason_en = en
        self.cell = cell
        super().__init__(source, row_ref(sheet, row), column, f"{zh} ({en})")

    def as_dict(self) -> dict[str, str | None]:
        return {
            **super().as_dict(),
            "sheet": self.sheet,
            "row": None if self.row is None else str(self.row),
            "column": self.column,
            "cell": self.cell,
            "value": show(self.value),
        }


def row_ref(sheet: str, row: int | None) -> str:
    """How a row is named in errors: `月度数据!第7行` (the row number Excel shows)."""
    return f"{sheet}!第{row}行" if row is not None else sheet


def show(value: Any) -> str:
    """A cell value as the operator would recognise it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _quoted(value: Any) -> str:
    return f"“{show(value)}”"


# -- value parsers ----------------------------------------------------------------------------

_NONE_TOKENS = frozenset({"", "-", "--", "—", "——", "/", "无", "空", "n/a", "na", "null", "none"})
_EXCEL_ERRORS = frozenset(
    {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#SPILL!", "#CALC!"}
)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _excel_error(value: Any) -> None:
    if isinstance(value, str) and value.strip().upper() in _EXCEL_ERRORS:
        raise CellProblem(
            f"单元格是 Excel 错误值 {value.strip()}，请检查公式",
            f"the cell holds the Excel error {value.strip()}; check its formula",
        )


def parse_number(value: Any, *, unit: str | None = None, percent_ok: bool = False) -> float | None:
    """A number as operators type it: 1234.5, "1,234.5", "１２３", "(12)" (negative), "300万元"
    in a 万元 column. Blank, "-", "/" and "无" mean not entered (None). "约300" is an error."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellProblem(
            f"应填数字，不能是逻辑值 {_quoted(value)}", f"must be a number, got {show(value)}"
        )
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise CellProblem(f"不是有效数字：{_quoted(value)}", f"not a finite number: {value!r}")
        return float(value)
    if isinstance(value, dt.date | dt.time):
        raise CellProblem(
            f"应填数字，不能是日期 {_quoted(value)}（请把单元格格式改为“常规”或“数值”）",
            f"must be a number, got the date {show(value)} (format the cell as General/Number)",
        )
    text = _nfkc(str(value)).strip()
    _excel_error(text)
    if text.lower() in _NONE_TOKENS:
        return None
    compact = re.sub(r"\s+", "", text).lstrip("'").replace("。", ".")
    negative = False
    if compact.startswith("(") and compact.endswith(")"):  # accounting negative: (12.5)
        negative, compact = True, compact[1:-1]
    if unit and compact.lower().endswith(unit.lower()):
        compact = compact[: -len(unit)]
    scale = 1.0
    if compact.endswith("%"):
        if not percent_ok:
            raise CellProblem(
                f"应填数量，不能是百分比 {_quoted(value)}",
                f"must be a quantity, not a percentage: {text!r}",
            )
        compact, scale = compact[:-1], 0.01
    if "," in compact:
        if not _GROUPED.fullmatch(compact):
            raise CellProblem(
                f"数字中的逗号位置不对：{_quoted(value)}（千位分隔应为 1,234.5）",
                f"misplaced comma in the number {text!r} (thousands separator: 1,234.5)",
            )
        compact = compact.replace(",", "")
    if not _NUMBER.fullmatch(compact):
        raise CellProblem(
            f"应填数字，不能是{_quoted(value)}（不要写“约”、单位或文字）",
            f"must be a number, got {text!r} (no 'about', units or words)",
        )
    number = float(compact) * scale
    return -number if negative else number


def parse_count(value: Any, *, unit: str | None = None) -> int | None:
    """A whole number (people): 12, 12.0, "12", "12人"; 12.5 is an error."""
    number = parse_number(value, unit=unit)
    if number is None:
        return None
    if not float(number).is_integer():
        raise CellProblem(
            f"应填整数，不能是{_quoted(value)}", f"must be a whole number, got {show(value)}"
        )
    return int(number)


_PERIOD_PATTERNS = (
    re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(月份|月)?"),
    re.compile(r"(\d{4})(\d{2})"),
    re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*\d{1,2}\s*日?(\s+[\d:]+)?"),
)


def _excel_date(serial: float, epoch: dt.datetime | None = None) -> dt.datetime:
    from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900, from_excel

    return from_excel(serial, epoch or CALENDAR_WINDOWS_1900)  # type: ignore[no-any-return]


def _month(year: int, month: int, value: Any) -> str:
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise CellProblem(
            f"统计期间不正确：{_quoted(value)}", f"not a valid period (YYYY-MM): {show(value)}"
        )
    return f"{year:04d}-{month:02d}"


def parse_period(value: Any, *, epoch: dt.datetime | None = None) -> str | None:
    """A month as YYYY-MM from "2026-10", "2026/10", "2026年10月", "202610", a date cell or an
    Excel date serial."""
    if is_blank(value):
        return None
    if isinstance(value, dt.date):
        return _month(value.year, value.month, value)
    if isinstance(value, bool):
        raise CellProblem(f"统计期间不正确：{_quoted(value)}", f"not a period: {show(value)}")
    if isinstance(value, int | float):
        if float(value).is_integer() and 190001 <= value <= 210012:
            return _month(int(value) // 100, int(value) % 100, value)
        if 1 <= value < 2958466:
            day = _excel_date(float(value), epoch)
            return _month(day.year, day.month, value)
        raise CellProblem(f"统计期间不正确：{_quoted(value)}", f"not a period: {show(value)}")
    text = _nfkc(str(value)).strip()
    _excel_error(text)
    for pattern in _PERIOD_PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            return _month(int(m[1]), int(m[2]), value)
    raise CellProblem(
        f"统计期间格式不对：{_quoted(value)}（应为 2026-10 这样的年月）",
        f"period must be a month like 2026-10, got {text!r}",
    )


_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(\s+[\d:.]+)?")
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


def parse_date(value: Any, *, epoch: dt.datetime | None = None) -> dt.date | None:
    """A date from a date cell, an Excel serial, "2023-05-12", "2023/5/12", "2023年5月12日",
    "20230512"."""
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    bad = CellProblem(
        f"日期格式不对：{_quoted(value)}（应为 2023-05-12 这样的日期）",
        f"must be a date like 2023-05-12, got {show(value)!r}",
    )
    if isinstance(value, bool):
        raise bad
    if isinstance(value, int | float):
        if float(value).is_integer() and 19000101 <= value <= 21001231:
            text = str(int(value))
        elif 1 <= value < 2958466:
            return _excel_date(float(value), epoch).date()
        else:
            raise bad
    else:
        text = _nfkc(str(value)).strip()
        _excel_error(text)
    m = _DATE_TEXT.fullmatch(text) or _DATE_COMPACT.fullmatch(text)
    if not m:
        raise bad
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise bad from None


_YES = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "规上", "规模以上", "对"})
_NO = frozenset({"否", "n", "no", "false", "0", "×", "✗", "规下", "规模以下", "不是"})


def parse_yes_no(value: Any) -> bool | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = _nfkc(str(value)).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise CellProblem(
        f"应选“是”或“否”，不能是{_quoted(value)}", f"must be 是/否 (yes/no), got {value!r}"
    )


_ACTIVE = frozenset({"在园", "在册", "正常", "入驻", "在营", "active"})
_LEFT = frozenset({"已迁出", "迁出", "退园", "已退园", "已搬离", "left"})


def parse_status(value: Any) -> Literal["active", "left"] | None:
    if is_blank(value):
        return None
    text = _nfkc(str(value)).strip().lower()
    if text in _ACTIVE:
        return "active"
    if text in _LEFT:
        return "left"
    raise CellProblem(
        f"状态应为“在园”或“已迁出”，不能是{_quoted(value)}",
        f"status must be 在园 (active) or 已迁出 (left), got {value!r}",
    )


def parse_text(value: Any) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _nfkc(str(value)) if not isinstance(value, str) else value
    _excel_error(text)
    return " ".join(text.split())


def parse_industry(value: Any) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _nfkc(str(value)).strip()
    try:
        return normalize_industry(text)
    except ValueError:
        raise CellProblem(
            f"行业代码不正确：{_quoted(value)}（应为 GB/T 4754 的2至4位数字代码，如 3823）",
            f"industry code must be 2-4 GB/T 4754 digits such as 3823, got {text!r}",
        ) from None


def parse_credit_code(value: Any) -> CreditCodeCheck | None:
    """The 18-character unified social credit code. A code Excel stored as a number has lost
    its last digits: that is an error, not a guess."""
    if is_blank(value):
        return None
    if isinstance(value, float):
        raise CellProblem(
            f"信用代码被 Excel 存成了数字（{show(value)}），后几位已丢失；"
            "请把该列设为“文本”格式后重新输入",
            f"the credit code was stored as a number ({value!r}) and lost digits; "
            "format the column as Text and type it again",
        )
    text = _nfkc(str(value)).strip().upper().replace(" ", "")
    _excel_error(text)
    try:
        return check_credit_code(text)
    except ValueError:
        raise CellProblem(
            f"统一社会信用代码格式错误：{_quoted(value)}（应为18位数字或大写字母）",
            f"invalid credit code {text!r} (must be 18 digits or capital letters)",
        ) from None


# -- headers ----------------------------------------------------------------------------------

_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")"})


def split_header(value: Any) -> tuple[str, str | None]:
    """`工业总产值（万元）`, `工业总产值\\n(万元)`, `工业总产值/万元`, `*工业总产值万元` ->
    ("工业总产值", "万元"); names and units lower-case, full-width folded."""
    text = _nfkc(str(value)).translate(_BRACKETS)
    text = re.sub(r"\s+", "", text).strip("*※").lower()
    m = re.fullmatch(r"(.*?)\((.*)\)", text)
    if m and m[1]:
        return m[1], m[2] or None
    if "/" in text:
        name, _, unit = text.partition("/")
        if unit in _ALL_UNITS:
            return name, unit
    for unit in _ALL_UNITS:
        if text.endswith(unit) and text[: -len(unit)] in _ALIAS_INDEX:
            return text[: -len(unit)], unit
    return text, None


def _alias_index() -> dict[str, dict[str, Column]]:
    out: dict[str, dict[str, Column]] = {}
    for kind, cols in COLUMNS.items():
        for col in cols:
            for name in (col.label, *col.aliases):
                out.setdefault(_nfkc(name).lower(), {})[kind] = col
    return out


_ALIAS_INDEX = _alias_index()


def match_header(value: Any, kind: str) -> Column | None:
    if is_blank(value):
        return None
    name, _unit = split_header(value)
    return _ALIAS_INDEX.get(name, {}).get(kind)


@dataclass(frozen=True, slots=True)
class BoundColumn:
    """A column found in a sheet: where it is, its header as written, and its unit factor."""

    index: int
    """0-based column index."""
    header: str
    """The header text as the operator wrote it (names the column in errors)."""
    column: Column
    factor: float = 1.0
    unit: str | None = None
    """The unit the sheet uses (from its header, or assumed)."""

    @property
    def letter(self) -> str:
        from openpyxl.utils import get_column_letter

        return str(get_column_letter(self.index + 1))


@dataclass(slots=True)
class SheetLayout:
    """Where the header row is and which column is which; problems found in the header."""

    sheet: str
    header_row: int
    columns: dict[str, BoundColumn] = field(default_factory=dict)
    problems: list[tuple[str | None, Any, CellProblem]] = field(default_factory=list)
    """Sheet-level errors (header, value): no row of the sheet is imported."""
    notes: list[tuple[str | None, Any, CellProblem]] = field(default_factory=list)
    """Sheet-level warnings: unknown columns ignored, a unit assumed."""

    def field_names(self) -> dict[str, str]:
        """Canonical field -> header as written, for VendorAdapter.build."""
        return {name: bc.header for name, bc in self.columns.items()}


def _score(values: Sequence[Any], kind: str) -> int:
    return len({c.field for v in values if (c := match_header(v, kind)) is not None})


def locate_header(sheet: SheetData, kind: str) -> SheetLayout | None:
    """Find the header row by its text (the row matching most known headers, with the credit
    code column) and bind the columns; None if the sheet has no such row."""
    best: tuple[int, int, tuple[Any, ...]] | None = None
    for number, values in sheet.rows[:HEADER_SCAN_ROWS]:
        codes = [v for v in values if (c := match_header(v, kind)) and c.field == "credit_code"]
        if not codes:
            continue
        score = _score(values, kind)
        if score >= 2 and (best is None or score > best[1]):
            best = (number, score, values)
    if best is None:
        return None
    number, _, values = best
    layout = SheetLayout(sheet.name, number)
    for index, value in enumerate(values):
        if is_blank(value):
            continue
        header = " ".join(_nfkc(str(value)).split())
        col = match_header(value, kind)
        if col is None:
            name, _ = split_header(value)
            if name not in IGNORED_HEADERS:
                layout.notes.append(
                    (
                        header,
                        value,
                        CellProblem(
                            "未识别的列，已忽略（不导入）", "unknown column, ignored (not imported)"
                        ),
                    )
                )
            continue
        if col.field in layout.columns:
            first = layout.columns[col.field]
            layout.problems.append(
                (
                    header,
                    value,
                    CellProblem(
                        f"与{first.letter}列“{first.header}”重复，请删除其中一列",
                        f"duplicates column {first.letter} ({first.header}); delete one of them",
                    ),
                )
            )
            continue
        bound = _bind(index, header, value, col, layout)
        if bound is not None:
            layout.columns[col.field] = bound
    return layout


def _bind(
    index: int, header: str, value: Any, col: Column, layout: SheetLayout
) -> BoundColumn | None:
    if col.quantity is None:
        return BoundColumn(index, header, col)
    table = UNIT_FACTORS[col.quantity]
    _, unit = split_header(value)
    if unit is None:
        assumed = col.unit or ""
        layout.notes.append(
            (
                header,
                value,
                CellProblem(
                    f"列标题没有注明单位，按模板单位“{assumed}”计算",
                    f"the header names no unit; taken as the template's unit {assumed}",
                ),
            )
        )
        return BoundColumn(index, header, col, table[_nfkc(assumed).lower()], assumed)
    if unit not in table:
        found = next((u for u in _ALL_UNITS if u in unit and u in table), None)
        if found is None:
            layout.problems.append(
                (
                    header,
                    value,
                    CellProblem(
                        f"无法识别列标题中的单位“{unit}”（可用：{'、'.join(table)}）",
                        f"unknown unit {unit!r} in the header (known: {', '.join(table)})",
                    ),
                )
            )
            return None
        unit = found
    return BoundColumn(index, header, col, table[unit], unit)


# -- files ------------------------------------------------------------------------------------


@dataclass(slots=True)
class SheetData:
    """The cells of one sheet as values, with what the values alone do not tell."""

    name: str
    rows: list[tuple[int, tuple[Any, ...]]]
    """(Excel row number, cell values) for every row up to the last non-blank one."""
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    """(row, 0-based column) -> formula, for formula cells that have no cached value."""
    merged: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    """(row, column) -> anchor (row, column) for every non-anchor cell of a merged range."""
    epoch: dt.datetime | None = None


@dataclass(slots=True)
class EntryFile:
    """A read entry file: its sheets (one for CSV), the template metadata if any."""

    format: Literal["xlsx", "csv"]
    sheets: list[SheetData]
    metadata: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    sheet_names: list[str] = field(default_factory=list)
    """Every sheet of the workbook, hidden ones included."""


def content_type_for(filename: str) -> str:
    lower = filename.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        return XLSX_CONTENT_TYPE
    if lower.endswith((".csv", ".txt")):
        return CSV_CONTENT_TYPE
    return "application/octet-stream"


def read_file(body: bytes, *, filename: str | None = None) -> EntryFile:
    """Read an .xlsx workbook or a CSV file (told apart by content, not by name)."""
    if not body:
        raise EntryFileError("文件是空的", "the file is empty")
    if body.startswith(b"PK\x03\x04"):
        return read_xlsx(body)
    if body.startswith(b"\xd0\xcf\x11\xe0"):
        raise EntryFileError(
            "这是旧版 .xls（或加了打开密码的）文件：请在 Excel/WPS 中“另存为” .xlsx 后再导入",
            "this is an old .xls workbook (or a password-protected one): save it as .xlsx",
        )
    return read_csv(body, filename=filename)


def _cell_xml_has_formulas(body: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            for name in zf.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    data = zf.read(name)
                    if b"<f>" in data or b"<f " in data or b":f>" in data or b":f " in data:
                        return True
    except (zipfile.BadZipFile, OSError, KeyError):
        return False
    return False


def _load_workbook(body: bytes, *, data_only: bool, read_only: bool = False) -> Any:
    from openpyxl import load_workbook

    with warnings.catch_warnings():  # openpyxl warns about extensions it drops; not our concern
        warnings.simplefilter("ignore")
        return load_workbook(io.BytesIO(body), data_only=data_only, read_only=read_only)


def read_xlsx(body: bytes) -> EntryFile:
    """Cached values (data_only=True); formula cells without a cached value are noted so the
    operator is told to open and save the file in Excel."""
    try:
        wb = _load_workbook(body, data_only=True)
    except Exception as exc:  # openpyxl raises many types on broken files
        raise EntryFileError(
            "无法打开这个 Excel 文件（文件损坏或不是 .xlsx）",
            f"cannot open the workbook ({type(exc).__name__}: {exc})",
        ) from None
    formula_wb = _load_workbook(body, data_only=False) if _cell_xml_has_formulas(body) else None
    epoch = getattr(wb, "epoch", None)
    out = EntryFile("xlsx", [], sheet_names=list(wb.sheetnames))
    if META_SHEET in wb.sheetnames:
        out.metadata = _metadata_rows(wb[META_SHEET].iter_rows(values_only=True))
    data_sheet = out.metadata.get("data_sheet")
    for ws in wb.worksheets:
        if ws.title == META_SHEET or (ws.sheet_state != "visible" and ws.title != data_sheet):
            continue
        sheet = SheetData(ws.title, _sheet_rows(ws.iter_rows(values_only=True)), epoch=epoch)
        for rng in ws.merged_cells.ranges:
            anchor = (rng.min_row, rng.min_col - 1)
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col - 1, rng.max_col):
                    if (r, c) != anchor:
                        sheet.merged[(r, c)] = anchor
        if formula_wb is not None and ws.title in formula_wb.sheetnames:
            sheet.formulas = _uncached_formulas(formula_wb[ws.title], sheet)
        out.sheets.append(sheet)
    return out


def _sheet_rows(rows: Iterable[Sequence[Any]]) -> list[tuple[int, tuple[Any, ...]]]:
    out: list[tuple[int, tuple[Any, ...]]] = []
    blank_run = 0
    for number, values in enumerate(rows, start=1):
        values = tuple(None if is_blank(v) else v for v in values)
        if all(v is None for v in values):
            blank_run += 1
            if blank_run >= MAX_BLANK_RUN:
                break
            continue
        blank_run = 0
        end = len(values)
        while end and values[end - 1] is None:
            end -= 1
        out.append((number, values[:end]))
    return out


def _uncached_formulas(ws: Any, sheet: SheetData) -> dict[tuple[int, int], str]:
    cached = {(n, i): v for n, values in sheet.rows for i, v in enumerate(values)}
    out: dict[tuple[int, int], str] = {}
    for row in ws.iter_rows():
        for cell in row:
            value = cell.value
            text = getattr(value, "text", value)  # ArrayFormula keeps its text in .text
            if isinstance(text, str) and text.startswith("="):
                key = (cell.row, cell.column - 1)
                if cached.get(key) is None:
                    out[key] = text
    return out


def _metadata_rows(rows: Iterable[tuple[Any, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for values in rows:
        if len(values) >= 2 and values[0] is not None and values[1] is not None:
            out[str(values[0]).strip()] = str(values[1]).strip()
    return out


def read_metadata(body: bytes) -> dict[str, str]:
    """The template's hidden metadata (park_id, period, kind, template_version, ...), or {}.

    Cheap enough to call before storing the file (e.g. to find the park of an upload): the
    workbook is opened read-only, so only the metadata sheet is read."""
    if not body.startswith(b"PK\x03\x04"):
        return {}
    try:
        wb = _load_workbook(body, data_only=True, read_only=True)
    except Exception:
        return {}
    try:
        if META_SHEET not in wb.sheetnames:
            return {}
        return _metadata_rows(wb[META_SHEET].iter_rows(values_only=True))
    finally:
        wb.close()


def decode_text(body: bytes) -> tuple[str, str]:
    """Decode a CSV export: UTF-8 with or without BOM, UTF-16 ("Unicode text"), else GB18030
    (a superset of GBK, what Chinese Excel writes for "CSV (逗号分隔)")."""
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body.decode("utf-16"), "utf-16"
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return body.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise EntryFileError(
            "无法识别文件编码：请导出为 .xlsx，或“CSV UTF-8”格式",
            "cannot decode the file: export it as .xlsx or 'CSV UTF-8'",
        ) from None


def read_csv(body: bytes, *, filename: str | None = None) -> EntryFile:
    try:
        text, encoding = decode_text(body)
    except UnicodeDecodeError:
        raise EntryFileError(
            "无法识别文件编码：请导出为 .xlsx，或“CSV UTF-8”格式",
            "cannot decode the file: export it as .xlsx or 'CSV UTF-8'",
        ) from None
    if "\x00" in text:
        raise EntryFileError(
            "不是 Excel 或 CSV 文件", "not an Excel workbook or a CSV text file (binary data)"
        )
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",\t;", key=first.count) if first else ","
    if first and first.count(delimiter) == 0:
        delimiter = ","
    try:
        raw_rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise EntryFileError("CSV 格式错误", f"malformed CSV: {exc}") from None
    name = _stem(filename) or "CSV"
    return EntryFile("csv", [SheetData(name, _sheet_rows(raw_rows))], encoding=encoding)


def _stem(filename: str | None) -> str | None:
    if not filename:
        return None
    base = re.split(r"[\\/]", filename)[-1]
    return base.rsplit(".", 1)[0] or base


# -- kind -------------------------------------------------------------------------------------

_SHEET_HINTS = {
    MONTHLY: ("月度", "月报", "经营数据", "monthly"),
    ROSTER: ("名录", "名单", "花名册", "企业信息", "roster"),
}


def detect_kind(entry: EntryFile) -> str | None:
    """What an entry file holds: the template's metadata, else its headers (figures make it
    monthly data, roster fields a roster), else its sheet names; a bare list of codes and
    names is a roster."""
    kind = entry.metadata.get("kind")
    if kind in KINDS:
        return kind
    shared = {"credit_code", "name", "remarks"}
    bare_list = False
    for sheet in entry.sheets:
        for _number, values in sheet.rows[:HEADER_SCAN_ROWS]:
            matched = {k: {c.field for v in values if (c := match_header(v, k))} for k in KINDS}
            if "credit_code" not in matched[MONTHLY]:
                continue
            monthly, roster = (len(matched[k] - shared) for k in (MONTHLY, ROSTER))
            if monthly != roster:
                return MONTHLY if monthly > roster else ROSTER
            bare_list = bare_list or (monthly == 0 and "name" in matched[ROSTER])
    for name in entry.sheet_names:
        for k, hints in _SHEET_HINTS.items():
            if any(h in name.lower() for h in hints):
                return k
    return ROSTER if bare_list else None


# -- rows -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CellValue:
    """One cell under a bound column."""

    value: Any
    bound: BoundColumn
    row: int
    formula: str | None = None
    """The formula, when the cell has one but no cached value."""
    merged_from: int | None = None
    """The anchor's row when this cell is part of a merged range (value copied or dropped)."""

    @property
    def ref(self) -> str:
        return f"{self.bound.letter}{self.row}"


@dataclass(frozen=True, slots=True)
class Row:
    sheet: str
    number: int
    cells: Mapping[str, CellValue]

    def value(self, field_name: str) -> Any:
        cell = self.cells.get(field_name)
        return None if cell is None else cell.value

    @property
    def blank(self) -> bool:
        return all(is_blank(c.value) and c.formula is None for c in self.cells.values())


_FILL_DOWN = frozenset({"period", "yes_no", "status", "date", "industry"})
"""Column kinds whose vertically merged cells mean "same as above"; for quantities a merged cell
is blank below its anchor (a merged total is not copied into every row)."""


def read_rows(sheet: SheetData, layout: SheetLayout) -> Iterator[Row]:
    """The data rows under the header (blank rows skipped), with merged cells resolved."""
    lookup = {n: v for n, v in sheet.rows}
    for number, values in sheet.rows:
        if number <= layout.header_row:
            continue
        cells: dict[str, CellValue] = {}
        for name, bound in layout.columns.items():
            i = bound.index
            value = values[i] if i < len(values) else None
            merged_from: int | None = None
            anchor = sheet.merged.get((number, i))
            if anchor is not None and anchor[0] > layout.header_row:
                merged_from = anchor[0]
                if anchor[1] == i and bound.column.kind in _FILL_DOWN:
                    row_values = lookup.get(anchor[0], ())
                    value = row_values[i] if i < len(row_values) else None
            cells[name] = CellValue(
                value, bound, number, sheet.formulas.get((number, i)), merged_from
            )
        row = Row(sheet.name, number, cells)
        if not row.blank:
            yield row


def is_total_row(row: Row) -> bool:
    """A 合计/总计 row operators add at the bottom: skipped, not an error."""
    for name in ("credit_code", "name"):
        value = row.value(name)
        if isinstance(value, str) and re.sub(r"\s+", "", value).lower() in TOTAL_MARKERS:
            return True
    return False


# -- report -----------------------------------------------------------------------------------


class HasProblems(Protocol):
    """ParseResult, or the hub's IngestResult: anything with errors and warnings."""

    @property
    def errors(self) -> Sequence[InputError]: ...

    @property
    def warnings(self) -> Sequence[InputError]: ...


_ROW_REF = re.compile(r"^(?P<sheet>.*)!第(?P<row>\d+)行$")


def split_reason(reason: str) -> tuple[str, str]:
    """ "中文 (english)" -> ("中文", "english"); a reason without the English part stays whole."""
    text = reason.rstrip()
    if text.endswith(")"):
        depth = 0
        for i in range(len(text) - 1, -1, -1):
            if text[i] == ")":
                depth += 1
            elif text[i] == "(":
                depth -= 1
                if depth == 0:
                    zh, en = text[:i].rstrip(), text[i + 1 : -1]
                    if zh:
                        return zh, en
                    break
    return text, text


def _problem_row(err: InputError, level: str) -> dict[str, Any]:
    if isinstance(err, EntryError):
        return {
            "level": level,
            "sheet": err.sheet,
            "row": err.row,
            "column": err.column,
            "cell": err.cell,
            "value": show(err.value),
            "reason_zh": err.reason_zh,
            "reason_en": err.reason_en,
        }
    m = _ROW_REF.match(err.record)
    zh, en = split_reason(err.reason)
    value = re.search(r"\(value (.*)\)$", err.reason)
    return {
        "level": level,
        "sheet": m["sheet"] if m else err.record,
        "row": int(m["row"]) if m else None,
        "column": err.field,
        "cell": None,
        "value": value[1] if value else "",
        "reason_zh": zh,
        "reason_en": en,
    }


def format_report(result: HasProblems, *, include_warnings: bool = False) -> list[dict[str, Any]]:
    """Per problem, for display (CLI table, web console): level, sheet, row, column, cell,
    value, reason_zh, reason_en; errors first (in sheet and row order), then warnings."""
    errors = [_problem_row(e, "error") for e in result.errors]
    if include_warnings:
        errors += [_problem_row(w, "warning") for w in result.warnings]
    return errors
