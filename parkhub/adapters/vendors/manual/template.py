"""Entry templates: the workbook a park operator downloads, fills in Excel or WPS, and imports.

One data sheet (月度数据 or 企业名录) prefilled with the park's enterprises, Chinese headers with
units, data validation with input messages, locked key columns, a 填写说明 sheet, and a hidden
`_parkhub` sheet with the park, period, kind and template version, so the importer knows what it
reads. The sheet protection has no password: it guards against accidental edits, not people.

The columns are `importer`'s, so what is written here is exactly what is read back.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.datavalidation import DataValidation

from parkhub import __version__
from parkhub.adapters.vendors.manual.importer import (
    COLUMNS,
    INSTRUCTIONS_SHEET,
    KIND_LABELS,
    KINDS,
    META_SHEET,
    MONTHLY,
    SHEET_NAMES,
    TEMPLATE_VERSION,
    UNIT_FACTORS,
    CellProblem,
    Column,
    parse_period,
)
from parkhub.canonical.timeutil import SHANGHAI, utcnow

TITLE_ROW = 1
HEADER_ROW = 2
FIRST_DATA_ROW = 3
BLANK_ROWS = 20
"""Unlocked empty rows under the prefilled ones, for enterprises not yet in the roster."""

_THIN = Side(style="thin", color="BFBFBF")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
_LOCKED_FILL = PatternFill("solid", fgColor="EDEDED")
_UNLOCKED = Protection(locked=False)
_NUMBER_FORMATS = {
    "amount": "#,##0.00##",
    "signed_amount": "#,##0.00##",
    "count": "0",
    "credit_code": "@",
    "period": "@",
    "industry": "@",
    "text": "@",
    "date": "yyyy-mm-dd",
}
_DATE_MIN = int(to_excel(dt.datetime(1950, 1, 1)))
_DATE_MAX = int(to_excel(dt.datetime(2099, 12, 31)))


class ParkNames(Protocol):
    """What a template shows of its park (parkhub.config.ParkConfig has both)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...


def template_filename(park: ParkNames, period: str, kind: str = MONTHLY) -> str:
    """A file name an operator recognises: `<park name>_<period>_<sheet>.xlsx`."""
    return f"{park.name}_{period}_{SHEET_NAMES[kind]}.xlsx"


def write_template(
    path: str | Path,
    park: ParkNames,
    period: str,
    enterprises: Sequence[Mapping[str, Any]],
    *,
    kind: str = MONTHLY,
    values: Sequence[Mapping[str, Any]] = (),
    blank_rows: int = BLANK_ROWS,
) -> Path:
    """Write the entry workbook for `park` and `period` to `path` and return the path.

    `enterprises` are stored Enterprise documents (credit_code, name, ...). For the monthly
    template, `values` are stored EnterpriseMonthly documents of the period: their figures are
    prefilled (in the template's units) so an operator corrects rather than retypes.
    """
    out = Path(path)
    wb = build_template(park, period, enterprises, kind=kind, values=values, blank_rows=blank_rows)
    wb.save(out)
    return out


def template_bytes(
    park: ParkNames,
    period: str,
    enterprises: Sequence[Mapping[str, Any]],
    *,
    kind: str = MONTHLY,
    values: Sequence[Mapping[str, Any]] = (),
    blank_rows: int = BLANK_ROWS,
) -> bytes:
    """The template as .xlsx bytes (for a web download)."""
    buffer = io.BytesIO()
    build_template(park, period, enterprises, kind=kind, values=values, blank_rows=blank_rows).save(
        buffer
    )
    return buffer.getvalue()


def build_template(
    park: ParkNames,
    period: str,
    enterprises: Sequence[Mapping[str, Any]],
    *,
    kind: str = MONTHLY,
    values: Sequence[Mapping[str, Any]] = (),
    blank_rows: int = BLANK_ROWS,
) -> Workbook:
    if kind not in KINDS:
        raise ValueError(f"未知的模板类型 (unknown template kind {kind!r}; known: {KINDS})")
    try:
        checked = parse_period(period)
    except CellProblem as exc:
        raise ValueError(str(exc)) from None
    if checked is None or checked != period:
        raise ValueError(f"期间格式应为 YYYY-MM (period must be YYYY-MM, got {period!r})")
    columns = COLUMNS[kind]
    rows = _rows(kind, period, enterprises, values)
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_NAMES[kind]
    last_row = FIRST_DATA_ROW + len(rows) + blank_rows - 1
    _title(ws, park, period, kind, len(columns))
    _headers(ws, columns)
    _data(ws, columns, rows, period if kind == MONTHLY else None, last_row)
    _validations(ws, columns, last_row)
    ws.freeze_panes = ws.cell(FIRST_DATA_ROW, 3).coordinate
    ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(columns))}{last_row}"
    ws.print_title_rows = f"{TITLE_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    _protect(ws)
    _instructions(wb, park, period, kind, columns)
    _metadata(wb, park, period, kind)
    wb.active = 0
    return wb


# -- data sheet -------------------------------------------------------------------------------


def _rows(
    kind: str,
    period: str,
    enterprises: Sequence[Mapping[str, Any]],
    values: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """One row per enterprise: the prefilled cells, in the template's units."""
    if kind == MONTHLY:
        figures = {v["credit_code"]: v for v in values if v.get("period") == period}
        out = []
        for ent in enterprises:
            if not _active_in(ent, period):
                continue
            row = {"credit_code": ent["credit_code"], "name": ent.get("name"), "period": period}
            for col in COLUMNS[MONTHLY]:
                value = figures.get(ent["credit_code"], {}).get(col.field)
                if value is not None and col.quantity is not None:
                    row[col.field] = _in_template_unit(col, value)
            out.append(row)
        return out
    out = []
    for ent in enterprises:
        row = {}
        for col in COLUMNS[kind]:
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
        out.append(row)
    return out


def _in_template_unit(col: Column, value: Any) -> float | int:
    assert col.quantity is not None and col.unit is not None
    number = float(value) / UNIT_FACTORS[col.quantity][col.unit.lower()]
    if col.kind == "count":
        return round(number)
    return round(number, 6)


def _active_in(ent: Mapping[str, Any], period: str) -> bool:
    """In the park during the period (joined before its end, not left before its start)."""
    year, month = (int(p) for p in period.split("-"))
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1)
    entered = ent.get("entered_on")
    if entered and dt.date.fromisoformat(str(entered)) >= end:
        return False
    if ent.get("status") == "left":
        left = ent.get("left_on")
        return bool(left) and dt.date.fromisoformat(str(left)) >= start
    return True


def _title(ws: Any, park: ParkNames, period: str, kind: str, width: int) -> None:
    when = "" if kind != MONTHLY else f" {period}"
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
        cell.fill = _REQUIRED_FILL if col.required else _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = _BORDER
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
            if col.field == "period" and period is not None:
                value = period
            if value is not None:
                cell.value = value
            cell.border = _BORDER
            if col.kind in _NUMBER_FORMATS:
                cell.number_format = _NUMBER_FORMATS[col.kind]
            # Key columns are locked where prefilled (and the period everywhere); the rest is
            # for the operator.
            locked = col.locked and (prefilled or col.field == "period")
            if locked:
                cell.fill = _LOCKED_FILL
            else:
                cell.protection = _UNLOCKED


def _validation(col: Column) -> DataValidation:
    common: dict[str, Any] = {
        "allow_blank": True,
        "showInputMessage": True,
        "showErrorMessage": True,
        "promptTitle": col.header[:32],
        "prompt": col.help[:255],
        "errorTitle": "输入有误"[:32],
    }
    if col.kind == "amount":
        return DataValidation(
            type="decimal",
            operator="greaterThanOrEqual",
            formula1="0",
            error=f"{col.header}：请填写不小于0的数字，不要写文字或单位。"[:255],
            **common,
        )
    if col.kind == "signed_amount":
        return DataValidation(
            type="decimal",
            operator="between",
            formula1="-100000000",
            formula2="100000000",
            error=f"{col.header}：请填写数字，亏损填负数，不要写文字或单位。"[:255],
            **common,
        )
    if col.kind == "count":
        return DataValidation(
            type="whole",
            operator="greaterThanOrEqual",
            formula1="0",
            error=f"{col.header}：请填写不小于0的整数。"[:255],
            **common,
        )
    if col.choices:
        return DataValidation(
            type="list",
            formula1='"' + ",".join(col.choices) + '"',
            error=f"{col.header}：请从下拉列表中选择（{'/'.join(col.choices)}）。"[:255],
            **common,
        )
    if col.kind == "date":
        return DataValidation(
            type="date",
            operator="between",
            formula1=str(_DATE_MIN),
            formula2=str(_DATE_MAX),
            error=f"{col.header}：请填写日期，例如 2023-05-12。"[:255],
            **common,
        )
    if col.kind == "credit_code":
        return DataValidation(
            type="textLength",
            operator="equal",
            formula1="18",
            error="统一社会信用代码应为18位。"[:255],
            **common,
        )
    return DataValidation(**common)  # an input message only


def _validations(ws: Any, columns: Sequence[Column], last_row: int) -> None:
    for index, col in enumerate(columns, start=1):
        letter = get_column_letter(index)
        dv = _validation(col)
        dv.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last_row}")
        ws.add_data_validation(dv)


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


# -- other sheets -----------------------------------------------------------------------------


def _instructions(
    wb: Workbook, park: ParkNames, period: str, kind: str, columns: Sequence[Column]
) -> None:
    ws = wb.create_sheet(INSTRUCTIONS_SHEET)
    sheet = SHEET_NAMES[kind]
    if kind == MONTHLY:
        how = [
            f"1. 在“{sheet}”工作表中，每家企业一行，在白色单元格里填写 {period} 当月的数据。",
            "   灰色单元格（统一社会信用代码、企业名称、统计期间）已按园区企业名录预填并锁定。",
            "2. 金额单位是“万元”，用电量单位是“万千瓦时”（1万千瓦时 = 10000度），"
            "综合能耗单位是“吨标准煤”，从业人员填整数（人）。",
            "3. 只填数字：不要写“约”“左右”、单位或文字；没有的数据留空。",
            "4. 利润总额亏损时填负数；其他金额和数量不能为负。",
            "5. 企业名录中没有的企业，在表格下方的空白行填写信用代码和企业名称。",
            "6. 某家企业整行没有填数据时不会导入，也不算错误。",
        ]
    else:
        how = [
            f"1. 在“{sheet}”工作表中，每家入园企业一行。信用代码已锁定；其他信息可修改。",
            "2. 新入园企业在下方空白行填写；已迁出的企业把“状态”改为“已迁出”并填写迁出日期，"
            "不要删除行。",
            "3. 面积单位是“平方米”；“是否规上企业”和“状态”请从下拉列表中选择。",
            "4. 日期写成 2023-05-12 这样的格式。",
        ]
    lines: list[tuple[str, bool]] = [
        (f"{park.name}（{park.id}）{KIND_LABELS[kind]} 填写说明", True),
        ("", False),
        ("一、怎么填", True),
        *[(text, False) for text in how],
        ("7. 填完后保存为 .xlsx（不要改文件名后缀、不要另存为 .xls），交园区管理员导入。", False),
        ("", False),
        ("二、导入和改错", True),
        (
            "导入后，系统逐行检查：正确的行直接入库；有问题的行会列出“工作表、行号、列、填写的值、原因”。",
            False,
        ),
        (
            "按提示改正后，重新导入整个文件即可。已经导入的正确数据不会重复，只有改动过的数据会更新并重新上报。",
            False,
        ),
        ("", False),
        ("三、工作表保护", True),
        ("锁定的单元格受“工作表保护”保护，没有设置密码，只是防止误改。", False),
        ("确需修改时（例如插入行）：审阅 → 撤销工作表保护；改完后请勿改动列标题。", False),
        (
            f"请不要删除或修改隐藏的工作表“{META_SHEET}”：导入时靠它识别园区、期间和模板类型。",
            False,
        ),
        ("", False),
        ("四、各列说明", True),
    ]
    row = 1
    for text, bold in lines:
        cell = ws.cell(row, 1, text or None)
        if bold:
            cell.font = Font(bold=True, size=12 if row == 1 else 11)
        row += 1
    for index, head in enumerate(("列名", "单位", "必填", "说明"), start=1):
        cell = ws.cell(row, index, head)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
    for col in columns:
        row += 1
        cells = (col.header, col.unit or "", "是" if col.required else "", col.help)
        for index, text in enumerate(cells, start=1):
            cell = ws.cell(row, index, text)
            cell.border = _BORDER
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    row += 2
    generated = utcnow().astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    ws.cell(row, 1, f"园区：{park.name}（{park.id}）  期间：{period}  模板版本：{TEMPLATE_VERSION}")
    ws.cell(row + 1, 1, f"生成时间：{generated}（parkhub {__version__}）")
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 12
    ws.column_dimensions["C"].width = 8
    ws.column_dimensions["D"].width = 70
    ws.protection.sheet = True


def _metadata(wb: Workbook, park: ParkNames, period: str, kind: str) -> None:
    ws = wb.create_sheet(META_SHEET)
    rows = [
        ("key", "value"),
        ("template", "parkhub entry template; do not edit"),
        ("template_version", TEMPLATE_VERSION),
        ("kind", kind),
        ("park_id", park.id),
        ("park_name", park.name),
        ("period", period),
        ("data_sheet", SHEET_NAMES[kind]),
        ("header_row", str(HEADER_ROW)),
        ("generated_at", utcnow().isoformat(timespec="seconds")),
        ("generator", f"parkhub {__version__}"),
    ]
    for values in rows:
        ws.append(values)
    ws.sheet_state = "hidden"
    ws.protection.sheet = True
