"""Reading a CSV export into an `EntryFile` of one sheet: the encodings Excel and WPS write
(UTF-8 with or without BOM, UTF-16, GBK) and the delimiter (comma, tab or semicolon)."""

from __future__ import annotations

import csv
import io
import re

from parkhub.limits import EntryLimits

from .entryfile import EntryFile, SheetData, sheet_rows
from .problems import EntryFileError


def decode_text(body: bytes) -> tuple[str, str]:
    """Decode a CSV export: UTF-8 with or without BOM, UTF-16 ("Unicode text"), else GB18030
    (a superset of GBK, what Chinese Excel writes for "CSV (逗号分隔)")."""
    try:
        if body.startswith(b"\xef\xbb\xbf"):
            return body[3:].decode("utf-8", errors="strict"), "utf-8-sig"
        if body.startswith((b"\xff\xfe", b"\xfe\xff")):
            return body.decode("utf-16"), "utf-16"
        try:
            return body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return body.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise EntryFileError(
            "无法识别文件编码：请导出为 .xlsx，或“CSV UTF-8”格式",
            "cannot decode the file: export it as .xlsx or 'CSV UTF-8'",
        ) from None


def read_csv(body: bytes, limits: EntryLimits, *, filename: str | None = None) -> EntryFile:
    """The file as one sheet named after the file (`CSV` without a name)."""
    text, encoding = decode_text(body)
    if "\x00" in text:
        raise EntryFileError(
            "不是 Excel 或 CSV 文件", "not an Excel workbook or a CSV text file (binary data)"
        )
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",\t;", key=first.count) if first else ","
    if first and first.count(delimiter) == 0:
        delimiter = ","
    name = _stem(filename) or "CSV"
    # rows are checked as they are read: a file past the limits is never held whole as rows
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = sheet_rows(reader, limits, name)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise EntryFileError(
                f"第{reader.line_num}行有一个单元格内容过长",
                f"a cell on line {reader.line_num} is too long ({exc})",
            ) from None
        raise EntryFileError("CSV 格式错误", f"malformed CSV: {exc}") from None
    return EntryFile("csv", [SheetData(name, rows)], encoding=encoding)


def _stem(filename: str | None) -> str | None:
    if not filename:
        return None
    base = re.split(r"[\\/]", filename)[-1]
    return base.rsplit(".", 1)[0] or base
