"""An entry file as read: each sheet's cell values, what the values alone do not tell (formulas
without a result, merged cells), and the template's metadata. `files.read_file` makes one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from parkhub.limits import EntryLimits

from .problems import EntryFileError
from .values import is_blank

MAX_BLANK_RUN = 2000
"""Reading a sheet stops after this many consecutive blank rows."""


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
    extra_sheets: list[str] = field(default_factory=list)
    """Visible sheets a template does not name (not read: a template's data is on its data
    sheet)."""


def sheet_rows(
    rows: Iterable[Sequence[Any]], limits: EntryLimits, sheet: str
) -> list[tuple[int, tuple[Any, ...]]]:
    """The non-blank rows with their numbers, blank cells as None and trailing ones dropped."""
    return numbered_rows(enumerate(rows, start=1), limits, sheet)


def numbered_rows(
    rows: Iterable[tuple[int, Sequence[Any]]], limits: EntryLimits, sheet: str
) -> list[tuple[int, tuple[Any, ...]]]:
    """`sheet_rows` of (row number, values) in row order, rows missing between them blank.
    Past the limits (rows, columns, characters in a cell) the file is refused, naming where."""
    out: list[tuple[int, tuple[Any, ...]]] = []
    blank_run = 0
    last = 0
    for number, row in rows:
        blank_run += number - last - 1
        last = number
        if blank_run >= MAX_BLANK_RUN:
            break
        values = tuple(None if is_blank(v) else v for v in row)
        if all(v is None for v in values):
            blank_run += 1
            continue
        blank_run = 0
        end = len(values)
        while end and values[end - 1] is None:
            end -= 1
        _check_row(values[:end], number, limits, sheet)
        out.append((number, values[:end]))
        if len(out) > limits.max_rows:
            raise EntryFileError(
                f"工作表“{sheet}”行数过多（超过 {limits.max_rows} 行），请分成几个文件导入",
                f"too many rows in sheet {sheet} (more than {limits.max_rows}): split the file",
            )
    return out


def _check_row(values: tuple[Any, ...], number: int, limits: EntryLimits, sheet: str) -> None:
    if len(values) > limits.max_columns:
        raise EntryFileError(
            f"工作表“{sheet}”第{number}行有 {len(values)} 列数据（上限 {limits.max_columns} 列）",
            f"sheet {sheet} row {number} has {len(values)} columns (limit {limits.max_columns})",
        )
    for index, value in enumerate(values):
        if isinstance(value, str) and len(value) > limits.max_cell_chars:
            where = f"{_letter(index)}{number}"
            raise EntryFileError(
                f"工作表“{sheet}”单元格 {where} 的内容过长（{len(value)} 个字符，"
                f"上限 {limits.max_cell_chars}）",
                f"cell {where} of sheet {sheet} holds {len(value)} characters "
                f"(limit {limits.max_cell_chars})",
            )


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index + 1)) if index < 16384 else f"#{index + 1}"
