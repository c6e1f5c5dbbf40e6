"""The problems operator entry reports, located as the operator sees them: a `CellProblem` says
what is wrong (Chinese and English), an `EntryError` also says where (sheet, row, column, value).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from parkhub.errors import InputError


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
        column = None if column is None else clip(column)
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


_ROW_REF = re.compile(r"^(?P<sheet>.*)!第(?P<row>\d+)行$")


def row_ref(sheet: str, row: int | None) -> str:
    """How a row is named in errors: `月度数据!第7行` (the row number Excel shows)."""
    return f"{sheet}!第{row}行" if row is not None else sheet


def split_row_ref(record: str) -> tuple[str, int | None]:
    """`月度数据!第7行` -> ("月度数据", 7); a record without a row is a sheet or file name."""
    m = _ROW_REF.match(record)
    return (m["sheet"], int(m["row"])) if m else (record, None)


SHOWN_CHARS = 200
"""Of a longer cell or header only this much is repeated in a problem (a 32,767-character cell
would otherwise be copied into every message about it)."""


def clip(text: str) -> str:
    if len(text) <= SHOWN_CHARS:
        return text
    return f"{text[:SHOWN_CHARS]}…（共 {len(text)} 字 / {len(text)} characters）"


def show(value: Any) -> str:
    """A cell value as the operator would recognise it (a long one cut short)."""
    return clip(_show(value))


def _show(value: Any) -> str:
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


def quoted(value: Any) -> str:
    """A cell value inside a Chinese message: “1,234.5”."""
    return f"“{show(value)}”"
