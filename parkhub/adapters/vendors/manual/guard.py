"""What an entry file may hold (`parkhub.limits.EntryLimits`), checked before it is parsed.

An .xlsx is a zip archive: a few hundred KB can unpack to gigabytes (shared strings of 184 MB
took 600 MB of memory), a merged range of a few bytes can cover 17 billion cells, and openpyxl
builds an object for every cell it is given. So the archive's own directory is read first (the
sizes of its parts, never more than they declare: zipfile stops at the declared size), then the
worksheets' cells and merged ranges are counted in their XML, and only then is the workbook
handed to openpyxl. Each refusal names the limit, in Chinese and English.
"""

from __future__ import annotations

import io
import re
import zipfile

from openpyxl.utils.cell import range_boundaries

from parkhub.limits import EntryLimits

from .problems import EntryFileError

MAX_PARTS = 10_000
"""Parts in an .xlsx archive (a workbook of 50 sheets has about 120)."""
_MERGED = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Za-z0-9:$]+)\"")
_CELL = re.compile(rb"<(?:\w+:)?c[\s/>]")


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"


def check_size(size: int, limits: EntryLimits) -> None:
    if size > limits.max_file_bytes:
        raise EntryFileError(
            f"文件太大（{_mb(size)}，上限 {_mb(limits.max_file_bytes)}），请分成几个文件导入",
            f"the file is too large ({size} bytes; limit {limits.max_file_bytes}): split it",
        )


def check_xlsx(body: bytes, limits: EntryLimits) -> None:
    """Refuse an .xlsx whose parts unpack past the limits, before anything parses it. A file
    that is no zip archive passes: opening it fails next, with its own message."""
    check_size(len(body), limits)
    try:
        zf = zipfile.ZipFile(io.BytesIO(body))
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_PARTS:
            raise EntryFileError(
                f"工作簿结构异常（包含 {len(infos)} 个部件）",
                f"not a plausible workbook: {len(infos)} parts in the archive (limit {MAX_PARTS})",
            )
        unpacked = sum(i.file_size for i in infos)
        if unpacked > limits.max_unpacked_bytes:
            raise EntryFileError(
                f"工作簿解压后过大（{_mb(unpacked)}，上限 {_mb(limits.max_unpacked_bytes)}）："
                "请删除无关的工作表、图片和格式后另存，或分成几个文件导入",
                f"the workbook unpacks to {unpacked} bytes (limit {limits.max_unpacked_bytes}): "
                "remove unrelated sheets, pictures and formatting, or split it",
            )
        sheets = [
            i
            for i in infos
            if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")
        ]
        if len(sheets) > limits.max_sheets:
            raise EntryFileError(
                f"工作表过多（{len(sheets)} 个，上限 {limits.max_sheets} 个）",
                f"too many sheets ({len(sheets)}; limit {limits.max_sheets})",
            )
        cells = 0
        for info in sheets:
            try:
                xml = zf.read(info)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError):
                return  # a broken part: openpyxl refuses the file with its own message
            cells += len(_CELL.findall(xml))
            _check_merged(xml, info.filename, limits)
        if cells > limits.max_cells:
            raise EntryFileError(
                f"单元格过多（{cells} 个，上限 {limits.max_cells} 个），请分成几个文件导入",
                f"too many cells ({cells}; limit {limits.max_cells}): split the file",
            )


def _check_merged(xml: bytes, part: str, limits: EntryLimits) -> None:
    covered = 0
    for ref in _MERGED.findall(xml):
        try:
            min_col, min_row, max_col, max_row = range_boundaries(ref.decode())
        except (ValueError, TypeError):
            continue  # openpyxl refuses it when it reads the sheet
        if None in (min_col, min_row, max_col, max_row):
            continue
        covered += (max_col - min_col + 1) * (max_row - min_row + 1)
    if covered > limits.max_merged_cells:
        raise EntryFileError(
            f"合并单元格覆盖的范围过大（{covered} 个单元格），请取消合并后再导入",
            f"merged ranges in {part} cover {covered} cells (limit {limits.max_merged_cells}): "
            "unmerge them",
        )
