"""Cell values as operators type them, parsed: numbers, counts, periods, dates, yes/no, status,
text, industry and credit codes. A value that cannot be taken raises a `CellProblem`."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import Any, Literal

from parkhub.canonical.codes import normalize_industry
from parkhub.canonical.identifiers import CreditCodeCheck, check_credit_code

from .problems import CellProblem, clip, quoted, show

_NONE_TOKENS = frozenset({"", "-", "--", "—", "——", "/", "无", "空", "n/a", "na", "null", "none"})
_EXCEL_ERRORS = frozenset(
    {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#SPILL!", "#CALC!"}
)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(\s+[\d:.]+)?")
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_PERIOD_PATTERNS = (
    re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(月份|月)?"),
    re.compile(r"(\d{4})(\d{2})"),
    _DATE_TEXT,  # a day of the month names its month
)
_EXCEL_DAYS = 2958466
"""Excel date serials run from 1 (1900-01-01) to below this (10000-01-01)."""
_YES = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "规上", "规模以上", "对"})
_NO = frozenset({"否", "n", "no", "false", "0", "×", "✗", "规下", "规模以下", "不是"})
_ACTIVE = frozenset({"在园", "在册", "正常", "入驻", "在营", "active"})
_LEFT = frozenset({"已迁出", "迁出", "退园", "已退园", "已搬离", "left"})


def nfkc(text: str) -> str:
    """Full-width letters, digits and brackets folded to their ASCII forms (１２３ -> 123)."""
    return unicodedata.normalize("NFKC", text)


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _excel_error(value: Any) -> None:
    if isinstance(value, str) and value.strip().upper() in _EXCEL_ERRORS:
        raise CellProblem(
            f"单元格是 Excel 错误值 {value.strip()}，请检查公式",
            f"the cell holds the Excel error {value.strip()}; check its formula",
        )


def _cell_text(value: Any) -> str:
    """A cell's text, folded and stripped; an Excel error value (#N/A, ...) is a problem."""
    text = nfkc(str(value)).strip()
    _excel_error(text)
    return text


def _word(value: Any) -> str:
    """A cell's text as a word to look up: folded, stripped, lower-case."""
    return nfkc(str(value)).strip().lower()


def _whole(value: Any) -> Any:
    """A float Excel holds for a typed integer (3823.0) as the integer."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def parse_number(value: Any, *, unit: str | None = None, percent_ok: bool = False) -> float | None:
    """A number as operators type it: 1234.5, "1,234.5", "１２３", "(12)" (negative), "300万元"
    in a 万元 column. Blank, "-", "/" and "无" mean not entered (None). "约300" is an error."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellProblem(
            f"应填数字，不能是逻辑值 {quoted(value)}", f"must be a number, got {show(value)}"
        )
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise CellProblem(f"不是有效数字：{quoted(value)}", f"not a finite number: {value!r}")
        return float(value)
    if isinstance(value, dt.date | dt.time):
        raise CellProblem(
            f"应填数字，不能是日期 {quoted(value)}（请把单元格格式改为“常规”或“数值”）",
            f"must be a number, got the date {show(value)} (format the cell as General/Number)",
        )
    text = _cell_text(value)
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
                f"应填数量，不能是百分比 {quoted(value)}",
                f"must be a quantity, not a percentage: {clip(text)!r}",
            )
        compact, scale = compact[:-1], 0.01
    if "," in compact:
        if not _GROUPED.fullmatch(compact):
            raise CellProblem(
                f"数字中的逗号位置不对：{quoted(value)}（千位分隔应为 1,234.5）",
                f"misplaced comma in the number {clip(text)!r} (thousands separator: 1,234.5)",
            )
        compact = compact.replace(",", "")
    if not _NUMBER.fullmatch(compact):
        raise CellProblem(
            f"应填数字，不能是{quoted(value)}（不要写“约”、单位或文字）",
            f"must be a number, got {clip(text)!r} (no 'about', units or words)",
        )
    number = float(compact) * scale
    if not math.isfinite(number):  # "1e400": the pattern takes it, a float cannot hold it
        raise CellProblem(
            f"数字超出范围：{quoted(value)}", f"number out of range: {clip(text)!r} (not finite)"
        )
    return -number if negative else number


def parse_count(value: Any, *, unit: str | None = None) -> int | None:
    """A whole number (people): 12, 12.0, "12", "12人"; 12.5 is an error."""
    number = parse_number(value, unit=unit)
    if number is None:
        return None
    if not float(number).is_integer():
        raise CellProblem(
            f"应填整数，不能是{quoted(value)}", f"must be a whole number, got {show(value)}"
        )
    return int(number)


def _excel_date(serial: float, epoch: dt.datetime | None = None) -> dt.datetime:
    from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900, from_excel

    return from_excel(serial, epoch or CALENDAR_WINDOWS_1900)  # type: ignore[no-any-return]


def _day_number(
    value: int | float, digits: tuple[int, int], epoch: dt.datetime | None
) -> str | dt.datetime | None:
    """A number in a period or date cell: its digits (202610, 20230512) when within `digits`,
    else the day of an Excel date serial, else None."""
    low, high = digits
    if float(value).is_integer() and low <= value <= high:
        return str(int(value))
    if 1 <= value < _EXCEL_DAYS:
        return _excel_date(float(value), epoch)
    return None


def _month(year: int, month: int, value: Any) -> str:
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise CellProblem(
            f"统计期间不正确：{quoted(value)}", f"not a valid period (YYYY-MM): {show(value)}"
        )
    return f"{year:04d}-{month:02d}"


def parse_period(value: Any, *, epoch: dt.datetime | None = None) -> str | None:
    """A month as YYYY-MM from "2026-10", "2026/10", "2026年10月", "202610", a date cell or an
    Excel date serial."""
    if is_blank(value):
        return None
    if isinstance(value, dt.date):
        return _month(value.year, value.month, value)
    if isinstance(value, bool | int | float):
        found = None if isinstance(value, bool) else _day_number(value, (190001, 210012), epoch)
        if found is None:
            raise CellProblem(f"统计期间不正确：{quoted(value)}", f"not a period: {show(value)}")
        if isinstance(found, dt.datetime):
            return _month(found.year, found.month, value)
        text = found
    else:
        text = _cell_text(value)
    for pattern in _PERIOD_PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            return _month(int(m[1]), int(m[2]), value)
    raise CellProblem(
        f"统计期间格式不对：{quoted(value)}（应为 2026-10 这样的年月）",
        f"period must be a month like 2026-10, got {clip(text)!r}",
    )


def parse_year(value: Any) -> int | None:
    """A year from 2025, 2025.0, "2025", "2025年", "2025年度"."""
    if is_blank(value):
        return None
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    m = None if isinstance(value, bool) else re.fullmatch(r"\s*(\d{4})\s*(年度|年)?\s*", nfkc(text))
    if m is None or not 2000 <= int(m[1]) <= 2100:
        raise CellProblem(
            f"评价年度不正确：{quoted(value)}（应为 2025 这样的年份）",
            f"year must be like 2025, got {show(value)}",
        )
    return int(m[1])


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
        f"日期格式不对：{quoted(value)}（应为 2023-05-12 这样的日期）",
        f"must be a date like 2023-05-12, got {show(value)!r}",
    )
    if isinstance(value, bool | int | float):
        found = None if isinstance(value, bool) else _day_number(value, (19000101, 21001231), epoch)
        if found is None:
            raise bad
        if isinstance(found, dt.datetime):
            return found.date()
        text = found
    else:
        text = _cell_text(value)
    m = _DATE_TEXT.fullmatch(text) or _DATE_COMPACT.fullmatch(text)
    if not m:
        raise bad
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise bad from None


def parse_yes_no(value: Any) -> bool | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    word = _word(value)
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise CellProblem(
        f"应选“是”或“否”，不能是{quoted(value)}", f"must be 是/否 (yes/no), got {clip(repr(value))}"
    )


def parse_status(value: Any) -> Literal["active", "left"] | None:
    if is_blank(value):
        return None
    word = _word(value)
    if word in _ACTIVE:
        return "active"
    if word in _LEFT:
        return "left"
    raise CellProblem(
        f"状态应为“在园”或“已迁出”，不能是{quoted(value)}",
        f"status must be 在园 (active) or 已迁出 (left), got {clip(repr(value))}",
    )


def parse_text(value: Any) -> str | None:
    if is_blank(value):
        return None
    value = _whole(value)
    text = nfkc(str(value)) if not isinstance(value, str) else value
    _excel_error(text)
    return " ".join(text.split())


def parse_industry(value: Any) -> str | None:
    if is_blank(value):
        return None
    value = _whole(value)
    text = nfkc(str(value)).strip()
    try:
        return normalize_industry(text)
    except ValueError:
        raise CellProblem(
            f"行业代码不正确：{quoted(value)}（应为 GB/T 4754 的2至4位数字代码，如 3823）",
            f"industry code must be 2-4 GB/T 4754 digits such as 3823, got {clip(text)!r}",
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
    text = nfkc(str(value)).strip().upper().replace(" ", "")
    _excel_error(text)
    try:
        return check_credit_code(text)
    except ValueError:
        raise CellProblem(
            f"统一社会信用代码格式错误：{quoted(value)}（应为18位数字或大写字母）",
            f"invalid credit code {clip(text)!r} (must be 18 digits or capital letters)",
        ) from None
