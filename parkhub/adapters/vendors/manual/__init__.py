"""Operator entry as a source: Excel templates out (`template`), filled workbooks and CSV files in
(`importer`), turned into canonical records by the `manual` vendor adapter (`adapter`, row by
row in `rows`).

An operator is a source like any vendor: the same raw inbox, the same errors naming the row and
the column, the same reparse after a fix.
"""

from .adapter import ManualAdapter, ManualConfig
from .rows import MONTHLY_VALUES, EntryWarning

__all__ = ["MONTHLY_VALUES", "EntryWarning", "ManualAdapter", "ManualConfig"]
