"""The names `adapter` imports from here, where they now live: the importer is split into
`columns`, `units`, `values`, `headers`, `rows`, `detect`, `files` (with `workbook`, `csvfile`),
`metadata`, `problems` and `report`. New code imports from those modules (or the package)."""

from __future__ import annotations

from .columns import COLUMNS, INSTRUCTIONS_SHEET, KIND_LABELS, KINDS, MONTHLY, ROSTER
from .detect import detect_kind
from .entryfile import EntryFile
from .files import read_file
from .headers import SheetLayout, locate_header
from .metadata import TEMPLATE_VERSION
from .problems import CellProblem, EntryError, EntryFileError, row_ref
from .report import split_reason
from .rows import CellValue, Row, is_total_row, read_rows
from .units import DECIMALS
from .values import (
    is_blank,
    parse_count,
    parse_credit_code,
    parse_date,
    parse_industry,
    parse_number,
    parse_period,
    parse_status,
    parse_text,
    parse_yes_no,
)

__all__ = [
    "COLUMNS",
    "DECIMALS",
    "INSTRUCTIONS_SHEET",
    "KINDS",
    "KIND_LABELS",
    "MONTHLY",
    "ROSTER",
    "TEMPLATE_VERSION",
    "CellProblem",
    "CellValue",
    "EntryError",
    "EntryFile",
    "EntryFileError",
    "Row",
    "SheetLayout",
    "detect_kind",
    "is_blank",
    "is_total_row",
    "locate_header",
    "parse_count",
    "parse_credit_code",
    "parse_date",
    "parse_industry",
    "parse_number",
    "parse_period",
    "parse_status",
    "parse_text",
    "parse_yes_no",
    "read_file",
    "read_rows",
    "row_ref",
    "split_reason",
]
