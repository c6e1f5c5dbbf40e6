"""Reading an .xlsx workbook into an `EntryFile`: the cached values of its visible sheets (and
the template's data sheet), merged ranges, formulas Excel never calculated; and its metadata
alone, cheaply (`read_metadata`)."""

from __future__ import annotations

import io
import warnings
import zipfile
from typing import Any

from .entryfile import EntryFile, SheetData, sheet_rows
from .metadata import META_SHEET, metadata_from_rows
from .problems import EntryFileError

XLSX_MAGIC = b"PK\x03\x04"
"""An .xlsx file is a zip archive."""


def _load_workbook(body: bytes, *, data_only: bool, read_only: bool = False) -> Any:
    from openpyxl import load_workbook

    with warnings.catch_warnings():  # openpyxl warns about extensions it drops; not our concern
        warnings.simplefilter("ignore")
        return load_workbook(io.BytesIO(body), data_only=data_only, read_only=read_only)


def read_xlsx(body: bytes) -> EntryFile:
    """Cached values (data_only=True); formula cells without a cached value are noted so the
    operator is told to open and save the file in Excel."""
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
    for ws in wb.worksheets:
        if ws.title == META_SHEET or (ws.sheet_state != "visible" and ws.title != data_sheet):
            continue
        sheet = SheetData(ws.title, sheet_rows(ws.iter_rows(values_only=True)), epoch=epoch)
        sheet.merged = _merged(ws)
        if formula_wb is not None and ws.title in formula_wb.sheetnames:
            sheet.formulas = _uncached_formulas(formula_wb[ws.title], sheet)
        out.sheets.append(sheet)
    return out


def read_metadata(body: bytes) -> dict[str, str]:
    """The template's hidden metadata (park_id, period, kind, template_version, ...), or {}.

    Cheap enough to call before storing the file (e.g. to find the park of an upload): the
    workbook is opened read-only, so only the metadata sheet is read."""
    if not body.startswith(XLSX_MAGIC):
        return {}
    try:
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
    for row in ws.iter_rows():
        for cell in row:
            value = cell.value
            text = getattr(value, "text", value)  # ArrayFormula keeps its text in .text
            if isinstance(text, str) and text.startswith("="):
                key = (cell.row, cell.column - 1)
                if cached.get(key) is None:
                    out[key] = text
    return out
