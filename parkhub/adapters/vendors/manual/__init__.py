"""Operator entry as a source: Excel templates out, filled workbooks and CSV files in, turned
into canonical records by the `manual` vendor adapter.

An operator is a source like any vendor: the same raw inbox, the same errors naming the row and
the column, the same reparse after a fix. The modules, in the order a file flows through them:

- `files` tells an .xlsx workbook (`workbook`) from a CSV export (`csvfile`) and reads it into an
  `EntryFile` (`entryfile`), with the template's hidden metadata (`metadata`);
- `detect` tells monthly figures, the roster and a year's figures apart; `headers` finds the
  header row and binds each column (`columns`) in its unit (`units`); `rows` yields the data
  rows under it;
- `values` parses each cell; `problems` names what is wrong where; `records` makes the records
  of the rows, for the `adapter`;
- `report` lists the problems for the CLI and the web console;
- `template` writes the workbook an operator fills in, with `styles`, `validations` and
  `instructions` (the 填写说明 sheet).
"""

from .adapter import MONTHLY_VALUES, ManualAdapter, ManualConfig
from .columns import ANNUAL, COLUMNS, MONTHLY, MONTHLY_COLUMNS, Column
from .files import XLSX_CONTENT_TYPE, content_type_for
from .report import finding_rows, format_report
from .template import template_bytes, template_filename, write_template
from .units import UNIT_FACTORS
from .workbook import read_metadata

__all__ = [
    "ANNUAL",
    "COLUMNS",
    "MONTHLY",
    "MONTHLY_COLUMNS",
    "MONTHLY_VALUES",
    "UNIT_FACTORS",
    "XLSX_CONTENT_TYPE",
    "Column",
    "ManualAdapter",
    "ManualConfig",
    "content_type_for",
    "finding_rows",
    "format_report",
    "read_metadata",
    "template_bytes",
    "template_filename",
    "write_template",
]
