"""Operator entry as a source: Excel templates out (`template`), filled workbooks and CSV files in
(`importer`), turned into canonical records by the `manual` vendor adapter (`adapter`).

An operator is a source like any vendor: the same raw inbox, the same errors naming the row and
the column, the same reparse after a fix.
"""

from .adapter import MONTHLY_VALUES, ManualAdapter, ManualConfig

__all__ = ["MONTHLY_VALUES", "ManualAdapter", "ManualConfig"]
