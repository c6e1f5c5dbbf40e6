"""The data rows under a sheet's header: each row's cells by column, merged cells resolved,
blank rows skipped, totals rows recognised."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .entryfile import SheetData
from .headers import BoundColumn, SheetLayout
from .values import is_blank, nfkc

TOTAL_MARKERS = frozenset({"合计", "总计", "小计", "合计:", "total"})
"""What a totals row says in its code or name cell (folded: 合计： is 合计:)."""
_FILL_DOWN = frozenset({"period", "yes_no", "status", "date", "industry"})
"""Column kinds whose vertically merged cells mean "same as above"; for quantities a merged cell
is blank below its anchor (a merged total is not copied into every row)."""


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
        if isinstance(value, str) and re.sub(r"\s+", "", nfkc(value)).lower() in TOTAL_MARKERS:
            return True
    return False
