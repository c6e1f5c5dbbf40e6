"""An operator's file in: an .xlsx workbook or a CSV export, told apart by its content (not its
name) and read by `workbook` or `csvfile`; the content types they are stored under."""

from __future__ import annotations

from parkhub.limits import EntryLimits

from .csvfile import read_csv
from .entryfile import EntryFile
from .guard import check_size
from .problems import EntryFileError
from .workbook import XLSX_MAGIC, read_xlsx

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0"
"""An old .xls workbook (or an encrypted .xlsx) is an OLE2 compound file."""


def content_type_for(filename: str) -> str:
    lower = filename.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        return XLSX_CONTENT_TYPE
    if lower.endswith((".csv", ".txt")):
        return CSV_CONTENT_TYPE
    return "application/octet-stream"


def read_file(
    body: bytes, *, filename: str | None = None, limits: EntryLimits | None = None
) -> EntryFile:
    """Read an .xlsx workbook or a CSV file (told apart by content, not by name), within
    `limits` (the defaults when not given)."""
    limits = limits or EntryLimits()
    if not body:
        raise EntryFileError("文件是空的", "the file is empty")
    check_size(len(body), limits)
    if body.startswith(XLSX_MAGIC):
        return read_xlsx(body, limits)
    if body.startswith(_OLE2_MAGIC):
        raise EntryFileError(
            "这是旧版 .xls（或加了打开密码的）文件：请在 Excel/WPS 中“另存为” .xlsx 后再导入",
            "this is an old .xls workbook (or a password-protected one): save it as .xlsx",
        )
    return read_csv(body, limits, filename=filename)
