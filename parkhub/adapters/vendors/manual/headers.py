"""Reading a sheet's header row: which known column each header names, in which unit, and the
row itself found among title rows (`locate_header`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .columns import COLUMNS, Column
from .entryfile import SheetData
from .problems import CellProblem
from .units import ALL_UNITS, UNIT_FACTORS
from .values import is_blank, nfkc

HEADER_SCAN_ROWS = 30
"""The header row is looked for in the first rows of a sheet (titles may come first)."""
MAX_HEADER_CHARS = 100
"""No known header is longer; a longer cell is matched on no column (its text is not searched:
a 32,767-character header of brackets once took the matcher seconds a cell)."""
IGNORED_HEADERS = frozenset({"序号", "编号", "no", "no.", "#", "行号"})
"""Headers operators add that are skipped without a warning."""

_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")"})


def _alias_index() -> dict[str, dict[str, Column]]:
    out: dict[str, dict[str, Column]] = {}
    for kind, cols in COLUMNS.items():
        for col in cols:
            for name in (col.label, col.field, *col.aliases):
                out.setdefault(nfkc(name).lower(), {})[kind] = col
    return out


_ALIAS_INDEX = _alias_index()
"""Header name (folded, lower-case) -> kind -> the column it names."""


def split_header(value: Any) -> tuple[str, str | None]:
    """`工业总产值（万元）`, `工业总产值\\n(万元)`, `工业总产值/万元`, `*工业总产值万元` ->
    ("工业总产值", "万元"); names and units lower-case, full-width folded."""
    text = nfkc(str(value)[: MAX_HEADER_CHARS * 4]).translate(_BRACKETS)
    text = re.sub(r"\s+", "", text).strip("*※").lower()
    if len(text) > MAX_HEADER_CHARS:
        return text[:MAX_HEADER_CHARS], None
    m = re.fullmatch(r"(.*?)\((.*)\)", text)
    if m and m[1]:
        return m[1], m[2] or None
    if "/" in text:
        name, _, unit = text.partition("/")
        if unit in ALL_UNITS:
            return name, unit
    for unit in ALL_UNITS:
        if text.endswith(unit) and text[: -len(unit)] in _ALIAS_INDEX:
            return text[: -len(unit)], unit
    return text, None


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
        if not is_blank(value):
            _bind(layout, index, value, kind)
    return layout


def _bind(layout: SheetLayout, index: int, value: Any, kind: str) -> None:
    """Bind the header `value` at `index` to its column, or note why it is not bound."""
    header = " ".join(nfkc(str(value)).split())
    col = match_header(value, kind)
    if col is None:
        if split_header(value)[0] not in IGNORED_HEADERS:
            note = CellProblem(
                "未识别的列，已忽略（不导入）", "unknown column, ignored (not imported)"
            )
            layout.notes.append((header, value, note))
        return
    first = layout.columns.get(col.field)
    if first is not None:
        problem = CellProblem(
            f"与{first.letter}列“{first.header}”重复，请删除其中一列",
            f"duplicates column {first.letter} ({first.header}); delete one of them",
        )
        layout.problems.append((header, value, problem))
        return
    bound = _with_unit(layout, BoundColumn(index, header, col), value)
    if bound is not None:
        layout.columns[col.field] = bound


def _with_unit(layout: SheetLayout, bound: BoundColumn, value: Any) -> BoundColumn | None:
    """A quantity's column with the unit its header names (or the template's, noted); None
    when the header names a unit of another quantity."""
    col = bound.column
    if col.quantity is None:
        return bound
    table = UNIT_FACTORS[col.quantity]
    unit = split_header(value)[1]
    if unit is None:
        note = CellProblem(
            f"列标题没有注明单位，按模板单位“{col.unit or ''}”计算",
            f"the header names no unit; taken as the template's unit {col.unit or ''}",
        )
        layout.notes.append((bound.header, value, note))
        return replace(bound, factor=col.factor, unit=col.unit or "")
    if unit not in table:  # 单位:万元, 万元人民币: a known unit inside other words
        found = next((u for u in ALL_UNITS if u in unit and u in table), None)
        if found is None:
            problem = CellProblem(
                f"无法识别列标题中的单位“{unit}”（可用：{'、'.join(table)}）",
                f"unknown unit {unit!r} in the header (known: {', '.join(table)})",
            )
            layout.problems.append((bound.header, value, problem))
            return None
        unit = found
    return replace(bound, factor=table[unit], unit=unit)
