"""Reading an .xlsx workbook into an `EntryFile`: the cached values of its visible sheets (of a
parkhub template, its data sheet alone), merged ranges, formulas Excel never calculated; and
its metadata alone, cheaply (`read_metadata`). The workbook is checked against the entry limits
(`guard`) before openpyxl sees it, and cells are read as the file holds them, never as the
rectangle up to the last one."""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Iterator
from typing import Any

from parkhub.limits import EntryLimits

from .columns import INSTRUCTIONS_SHEET
from .entryfile import EntryFile, SheetData, numbered_rows
from .guard import check_xlsx
from .metadata import META_SHEET, metadata_from_rows
from .problems import EntryFileError

XLSX_MAGIC = b"PK\x03\x04"
"""An .xlsx file is a zip archive."""


def _load_workbook(body: bytes, *, data_only: bool, read_only: bool = False) -> Any:
    from openpyxl import load_workbook

    with warnings.catch_warnings():  # openpyxl warns about extensions it drops; not our concern
        warnings.simplefilter("ignore")
        return load_workbook(io.BytesIO(body), data_only=data_only, read_only=read_only)


def read_xlsx(body: bytes, limits: EntryLimits) -> EntryFile:
    """Cached values (data_only=True); formula cells without a cached value are noted so the
    operator is told to open and save the file in Excel. Of a parkhub template only the data
    sheet is read; other visible sheets are listed in `extra_sheets` (the importer warns)."""
    check_xlsx(body, limits)
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
        out.metadata = metadata_from_rows(wb[META_SHEET].iter_rows(values_only=True))
    data_sheet = out.metadata.get("data_sheet")
    template = data_sheet in wb.sheetnames
    for ws in wb.worksheets:
        if ws.title == META_SHEET or (ws.sheet_state != "visible" and ws.title != data_sheet):
            continue
        if template and ws.title != data_sheet:
            if ws.title != INSTRUCTIONS_SHEET:
                out.extra_sheets.append(ws.title)
            continue
        sheet = SheetData(ws.title, numbered_rows(_cells(ws), limits, ws.title), epoch=epoch)
        sheet.merged = _merged(ws)
        if formula_wb is not None and ws.title in formula_wb.sheetnames:
            sheet.formulas = _uncached_formulas(formula_wb[ws.title], sheet)
        out.sheets.append(sheet)
    return out


def _cells(ws: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number, values) of the rows that hold a value, in order, from the cells the file
    holds: iterating the rectangle up to the last cell instead (`iter_rows`) takes 17 billion
    steps for a single value in XFD1048576."""
    rows: dict[int, dict[int, Any]] = {}
    for (row, column), cell in ws._cells.items():  # openpyxl's own cell table
        if cell.value is not None:
            rows.setdefault(row, {})[column] = cell.value
    for row in sorted(rows):
        cells = rows[row]
        yield row, tuple(cells.get(c) for c in range(1, max(cells) + 1))


def read_metadata(body: bytes, limits: EntryLimits | None = None) -> dict[str, str]:
    """The template's hidden metadata (park_id, period, kind, template_version, ...), or {}.

    Cheap enough to call before storing the file (e.g. to find the park of an upload): the
    workbook is opened read-only, so only the metadata sheet is read; a workbook past the
    limits gives {} (reading it refuses it, saying why)."""
    if not body.startswith(XLSX_MAGIC):
        return {}
    try:
        check_xlsx(body, limits or EntryLimits())
        wb = _load_workbook(body, data_only=True, read_only=True)
    except Exception:
        return {}
    try:
        if META_SHEET not in wb.sheetnames:
            return {}
        return metadata_from_rows(wb[META_SHEET].iter_rows(values_only=True))
    finally:
        wb.close()


def _merged(ws: Any) -> dict[tuple[int, int], tuple[int, int]]:
    """(row, 0-based column) -> its range's anchor, for every cell of a merged range but the
    anchor."""
    out: dict[tuple[int, int], tuple[int, int]] = {}
    for rng in ws.merged_cells.ranges:
        anchor = (rng.min_row, rng.min_col - 1)
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col - 1, rng.max_col):
                if (r, c) != anchor:
                    out[(r, c)] = anchor
    return out


def _cell_xml_has_formulas(body: bytes) -> bool:
    """Whether any sheet has a formula, so the workbook is read a second time only then."""
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


def _uncached_formulas(ws: Any, sheet: SheetData) -> dict[tuple[int, int], str]:
    cached = {(n, i): v for n, values in sheet.rows for i, v in enumerate(values)}
    out: dict[tuple[int, int], str] = {}
    for cell in ws._cells.values():  # the cells the file holds, as in `_cells`
        value = cell.value
        text = getattr(value, "text", value)  # ArrayFormula keeps its text in .text
        if isinstance(text, str) and text.startswith("="):
            key = (cell.row, cell.column - 1)
            if cached.get(key) is None:
                out[key] = text
    return out
