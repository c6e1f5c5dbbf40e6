"""Operator entry as a source: Excel templates out (`template`), filled workbooks and CSV files in
(`importer`), turned into canonical records by the `manual` vendor adapter (`adapter`).

An operator is a source like any vendor: the same raw inbox, the same errors naming the row and
the column, the same reparse after a fix.
"""

from .adapter import MONTHLY_VALUES, ManualAdapter, ManualConfig
from .importer import (
    MONTHLY,
    MONTHLY_COLUMNS,
    UNIT_FACTORS,
    XLSX_CONTENT_TYPE,
    Column,
    content_type_for,
    format_report,
    read_metadata,
)
from .template import template_bytes, template_filename

__all__ = [
    "MONTHLY",
    "MONTHLY_COLUMNS",
    "MONTHLY_VALUES",
    "UNIT_FACTORS",
    "XLSX_CONTENT_TYPE",
    "Column",
    "ManualAdapter",
    "ManualConfig",
    "content_type_for",
    "format_report",
    "read_metadata",
    "template_bytes",
    "template_filename",
]
