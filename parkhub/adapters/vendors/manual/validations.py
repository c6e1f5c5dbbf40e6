"""The template's Excel data validation: per column, what Excel accepts in its cells, the input
message shown when a cell is selected, and the error shown when the input is refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.datavalidation import DataValidation

from .columns import Column

_DATE_MIN = int(to_excel(dt.datetime(1950, 1, 1)))
_DATE_MAX = int(to_excel(dt.datetime(2099, 12, 31)))
_RULES: dict[str, tuple[dict[str, str], str]] = {
    "amount": (
        {"type": "decimal", "operator": "greaterThanOrEqual", "formula1": "0"},
        "{header}：请填写不小于0的数字，不要写文字或单位。",
    ),
    "signed_amount": (
        {
            "type": "decimal",
            "operator": "between",
            "formula1": "-100000000",
            "formula2": "100000000",
        },
        "{header}：请填写数字，亏损填负数，不要写文字或单位。",
    ),
    "count": (
        {"type": "whole", "operator": "greaterThanOrEqual", "formula1": "0"},
        "{header}：请填写不小于0的整数。",
    ),
    "date": (
        {
            "type": "date",
            "operator": "between",
            "formula1": str(_DATE_MIN),
            "formula2": str(_DATE_MAX),
        },
        "{header}：请填写日期，例如 2023-05-12。",
    ),
    "credit_code": (
        {"type": "textLength", "operator": "equal", "formula1": "18"},
        "统一社会信用代码应为18位。",
    ),
}
"""Column kind -> what Excel accepts, and the error message ({header} is the column's)."""


def validation(col: Column) -> DataValidation:
    """The rule for a column's cells; a column without one still gets its input message."""
    common: dict[str, Any] = {
        "allow_blank": True,
        "showInputMessage": True,
        "showErrorMessage": True,
        "promptTitle": col.header[:32],
        "prompt": col.help[:255],
        "errorTitle": "输入有误",
    }
    if col.choices:  # a drop-down list
        return DataValidation(
            type="list",
            formula1='"' + ",".join(col.choices) + '"',
            error=f"{col.header}：请从下拉列表中选择（{'/'.join(col.choices)}）。"[:255],
            **common,
        )
    if col.kind in _RULES:
        rule, error = _RULES[col.kind]
        return DataValidation(**rule, error=error.format(header=col.header)[:255], **common)
    return DataValidation(**common)


def add_validations(ws: Any, columns: Sequence[Column], first_row: int, last_row: int) -> None:
    """Validate rows `first_row` to `last_row` of every column (column 1 is columns[0])."""
    for index, col in enumerate(columns, start=1):
        letter = get_column_letter(index)
        dv = validation(col)
        dv.add(f"{letter}{first_row}:{letter}{last_row}")
        ws.add_data_validation(dv)
