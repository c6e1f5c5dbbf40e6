"""An entry file as read: each sheet's cell values, what the values alone do not tell (formulas
without a result, merged cells), and the template's metadata. `files.read_file` makes one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

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


def sheet_rows(rows: Iterable[Sequence[Any]]) -> list[tuple[int, tuple[Any, ...]]]:
    """The non-blank rows with their numbers, blank cells as None and trailing ones dropped."""
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
