"""Entry templates: the workbook a park operator downloads, fills in Excel or WPS, and imports.

One data sheet (月度数据 or 企业名录) prefilled with the park's enterprises, Chinese headers with
units, data validation with input messages, locked key columns, a 填写说明 sheet, and a hidden
`_parkhub` sheet with the park, period, kind and template version, so the importer knows what it
reads. The sheet protection has no password: it guards against accidental edits, not people.
The columns are those the importer reads (`columns`), so what is written is what is read back.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict, Unpack

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from .columns import (
    ANNUAL,
    COLUMNS,
    INSTRUCTIONS_SHEET,
    KIND_LABELS,
    KINDS,
    MONTHLY,
    SHEET_NAMES,
    Column,
)
from .instructions import add_instructions
from .metadata import META_SHEET, ParkNames, metadata_rows
from .problems import CellProblem
from .styles import BORDER, HEADER_FILL, LOCKED_FILL, NUMBER_FORMATS, REQUIRED_FILL, UNLOCKED
from .validations import add_validations
from .values import parse_period

TITLE_ROW = 1
HEADER_ROW = 2
FIRST_DATA_ROW = 3
BLANK_ROWS = 20
"""Unlocked empty rows under the prefilled ones, for enterprises not yet in the roster."""

Documents = Sequence[Mapping[str, Any]]
"""Stored canonical documents (Enterprise, EnterpriseMonthly) as mappings."""


class TemplateOptions(TypedDict, total=False):
    """What else a template may be asked for; each key may be left out."""

    kind: str
    """MONTHLY (the default) or ROSTER."""
    values: Documents
    """Stored EnterpriseMonthly documents of the period: their figures are prefilled (in the
    template's units) so an operator corrects rather than retypes. Monthly templates only."""
    blank_rows: int
    """Empty rows under the prefilled ones (BLANK_ROWS)."""


def template_filename(park: ParkNames, period: str, kind: str = MONTHLY) -> str:
    """A file name an operator recognises: `<park name>_<period>_<sheet>.xlsx`."""
    return f"{park.name}_{period}_{SHEET_NAMES[kind]}.xlsx"


def write_template(
    path: str | Path,
    park: ParkNames,
    period: str,
    enterprises: Documents,
    **options: Unpack[TemplateOptions],
) -> Path:
    """Write the entry workbook for `park` and `period` to `path` and return the path.

    `enterprises` are stored Enterprise documents (credit_code, name, ...)."""
    out = Path(path)
    build_template(park, period, enterprises, **options).save(out)
    return out


def template_bytes(
    park: ParkNames, period: str, enterprises: Documents, **options: Unpack[TemplateOptions]
) -> bytes:
    """The template as .xlsx bytes (for a web download); see write_template."""
    buffer = io.BytesIO()
    build_template(park, period, enterprises, **options).save(buffer)
    return buffer.getvalue()


def build_template(
    park: ParkNames, period: str, enterprises: Documents, **options: Unpack[TemplateOptions]
) -> Workbook:
    """The template as an openpyxl Workbook; see write_template."""
    kind = options.get("kind", MONTHLY)
    if kind not in KINDS:
        raise ValueError(f"未知的模板类型 (unknown template kind {kind!r}; known: {KINDS})")
    _check_period(period)
    columns = COLUMNS[kind]
    rows = _rows(kind, period, enterprises, options.get("values", ()))
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_NAMES[kind]
    last_row = FIRST_DATA_ROW + len(rows) + options.get("blank_rows", BLANK_ROWS) - 1
    _title(ws, park, period, kind, len(columns))
    _headers(ws, columns)
    _data(ws, columns, rows, period if kind in (MONTHLY, ANNUAL) else None, last_row)
    add_validations(ws, columns, FIRST_DATA_ROW, last_row)
    ws.freeze_panes = ws.cell(FIRST_DATA_ROW, 3).coordinate
    ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(columns))}{last_row}"
    ws.print_title_rows = f"{TITLE_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    _protect(ws)
    add_instructions(wb, park, period, kind, columns)
    _metadata(wb, park, period, kind)
    wb.active = 0
    return wb


def _check_period(period: str) -> None:
    try:
        checked = parse_period(period)
    except CellProblem as exc:
        raise ValueError(str(exc)) from None
    if checked is None or checked != period:
        raise ValueError(f"期间格式应为 YYYY-MM (period must be YYYY-MM, got {period!r})")


# -- data sheet -------------------------------------------------------------------------------


def _rows(
    kind: str, period: str, enterprises: Documents, values: Documents
) -> list[dict[str, Any]]:
    """One row per enterprise: the prefilled cells, in the template's units."""
    if kind in (MONTHLY, ANNUAL):
        key, when = ("period", period) if kind == MONTHLY else ("year", int(period[:4]))
        figures = {v["credit_code"]: v for v in values if v.get(key) == when}
        out = []
        for ent in enterprises:
            if not _active_in(
                ent, period if kind == MONTHLY else f"{when}-01", 12 * (key == "year")
            ):
                continue
            row = {"credit_code": ent["credit_code"], "name": ent.get("name"), key: when}
            for col in COLUMNS[kind]:
                value = figures.get(ent["credit_code"], {}).get(col.field)
                if value is not None and col.quantity is not None:
                    row[col.field] = _in_template_unit(col, value)
            out.append(row)
        return out
    return [_roster_row(ent, COLUMNS[kind]) for ent in enterprises]


def _roster_row(ent: Mapping[str, Any], columns: Sequence[Column]) -> dict[str, Any]:
    """A stored Enterprise document as the roster sheet shows it."""
    row = {}
    for col in columns:
        value = ent.get(col.field)
        if value is None:
            continue
        if col.quantity is not None:
            value = _in_template_unit(col, value)
        elif col.kind == "yes_no":
            value = "是" if value else "否"
        elif col.kind == "status":
            value = "已迁出" if value == "left" else "在园"
        elif col.kind == "date":
            value = dt.date.fromisoformat(str(value))
        row[col.field] = value
    return row


def _in_template_unit(col: Column, value: Any) -> float | int:
    number = col.in_template_unit(value)
    if col.kind == "count":
        return round(number)
    return round(number, 6)


def _active_in(ent: Mapping[str, Any], period: str, months: int = 0) -> bool:
    """In the park during the period, or the `months` from its start (joined before its end,
    not left before its start)."""
    year, month = (int(p) for p in period.split("-"))
    start = dt.date(year, month, 1)
    last = year * 12 + month - 1 + max(months, 1)
    end = dt.date(last // 12, last % 12 + 1, 1)
    entered = ent.get("entered_on")
    if entered and dt.date.fromisoformat(str(entered)) >= end:
        return False
    if ent.get("status") == "left":
        left = ent.get("left_on")
        return bool(left) and dt.date.fromisoformat(str(left)) >= start
    return True


def _title(ws: Any, park: ParkNames, period: str, kind: str, width: int) -> None:
    when = {MONTHLY: f" {period}", ANNUAL: f" {period[:4]}年"}.get(kind, "")
    ws.cell(TITLE_ROW, 1).value = (
        f"{park.name}{when} {KIND_LABELS[kind]}（单位见列标题；灰色单元格已锁定；"
        f"填写说明见“{INSTRUCTIONS_SHEET}”）"
    )
    ws.cell(TITLE_ROW, 1).font = Font(bold=True, size=13)
    ws.cell(TITLE_ROW, 1).alignment = Alignment(vertical="center")
    ws.merge_cells(start_row=TITLE_ROW, start_column=1, end_row=TITLE_ROW, end_column=width)
    ws.row_dimensions[TITLE_ROW].height = 26


def _headers(ws: Any, columns: Sequence[Column]) -> None:
    for index, col in enumerate(columns, start=1):
        cell = ws.cell(HEADER_ROW, index)
        cell.value = col.header
        cell.font = Font(bold=True)
        cell.fill = REQUIRED_FILL if col.required else HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = BORDER
        ws.column_dimensions[get_column_letter(index)].width = col.width
    ws.row_dimensions[HEADER_ROW].height = 32


def _data(
    ws: Any,
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    period: str | None,
    last_row: int,
) -> None:
    for r in range(FIRST_DATA_ROW, last_row + 1):
        prefilled = r - FIRST_DATA_ROW < len(rows)
        data = rows[r - FIRST_DATA_ROW] if prefilled else {}
        for index, col in enumerate(columns, start=1):
            cell = ws.cell(r, index)
            value = data.get(col.field)
            if col.field in ("period", "year") and period is not None:
                value = period if col.field == "period" else int(period[:4])
            if value is not None:
                cell.value = value
            cell.border = BORDER
            if col.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[col.kind]
            # Key columns are locked where prefilled (and the period everywhere); the rest is
            # for the operator.
            locked = col.locked and (prefilled or col.field in ("period", "year"))
            if locked:
                cell.fill = LOCKED_FILL
            else:
                cell.protection = UNLOCKED


def _protect(ws: Any) -> None:
    """Sheet protection without a password: locked cells cannot be typed over by accident;
    审阅 (Review) -> 撤销工作表保护 (Unprotect Sheet) lifts it when really needed."""
    p = ws.protection
    p.sheet = True
    p.formatColumns = False  # False = allowed: widen columns,
    p.formatRows = False  # resize rows,
    p.formatCells = False  # highlight cells,
    p.autoFilter = False  # and filter
    p.selectLockedCells = False
    p.selectUnlockedCells = False


def _metadata(wb: Workbook, park: ParkNames, period: str, kind: str) -> None:
    ws = wb.create_sheet(META_SHEET)
    for values in metadata_rows(park, period, kind, HEADER_ROW):
        ws.append(values)
    ws.sheet_state = "hidden"
    ws.protection.sheet = True
