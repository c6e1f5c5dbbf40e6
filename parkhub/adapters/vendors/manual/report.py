"""The problems of an import as rows to show an operator (CLI table, web console): sheet, row,
column, cell, value and the reason in Chinese and English."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from parkhub.errors import InputError

from .columns import COLUMNS
from .problems import EntryError, show, split_row_ref

HEADERS = {c.field: c.header for columns in COLUMNS.values() for c in columns}
"""Canonical field -> the header an entry sheet shows for it (营业收入(万元))."""


class HasProblems(Protocol):
    """ParseResult, or the hub's IngestResult: anything with errors and warnings."""

    @property
    def errors(self) -> Sequence[InputError]: ...

    @property
    def warnings(self) -> Sequence[InputError]: ...


def format_report(result: HasProblems, *, include_warnings: bool = False) -> list[dict[str, Any]]:
    """Per problem, for display (CLI table, web console): level, sheet, row, column, cell,
    value, reason_zh, reason_en; errors first (in sheet and row order), then warnings."""
    errors = [_problem_row(e, "error") for e in result.errors]
    if include_warnings:
        errors += [_problem_row(w, "warning") for w in result.warnings]
    return errors


class FindingLike(Protocol):
    """What the quality rules found about a record (parkhub.store.Finding)."""

    @property
    def key(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def message(self) -> str: ...


def finding_rows(
    findings: Sequence[FindingLike],
    rows: Mapping[str, str],
    labels: Mapping[str, str] = HEADERS,
) -> list[dict[str, Any]]:
    """Quality findings as problem rows at the row each record came from (`rows`: record key
    -> `月度数据!第7行`); level is the finding's severity (info, warn, hold)."""
    out = []
    for f in findings:
        sheet, row = split_row_ref(rows.get(f.key, f.key))
        zh, en = split_reason(f.message)
        out.append(
            {
                "level": f.severity,
                "sheet": sheet,
                "row": row,
                "column": labels.get(f.field, f.field) or None,
                "cell": None,
                "value": "",
                "reason_zh": zh,
                "reason_en": en,
            }
        )
    return out


def split_reason(reason: str) -> tuple[str, str]:
    """ "中文 (english)" -> ("中文", "english"); a reason without the English part stays whole."""
    text = reason.rstrip()
    if text.endswith(")"):
        depth = 0
        for i in range(len(text) - 1, -1, -1):
            if text[i] == ")":
                depth += 1
            elif text[i] == "(":
                depth -= 1
                if depth == 0:
                    zh, en = text[:i].rstrip(), text[i + 1 : -1]
                    if zh:
                        return zh, en
                    break
    return text, text


def _problem_row(err: InputError, level: str) -> dict[str, Any]:
    if isinstance(err, EntryError):
        return {
            "level": level,
            "sheet": err.sheet,
            "row": err.row,
            "column": err.column,
            "cell": err.cell,
            "value": show(err.value),
            "reason_zh": err.reason_zh,
            "reason_en": err.reason_en,
        }
    # A plain InputError (e.g. from the canonical model's validation): its parts from its text.
    sheet, row = split_row_ref(err.record)
    zh, en = split_reason(err.reason)
    value = re.search(r"\(value (.*)\)$", err.reason)
    return {
        "level": level,
        "sheet": sheet,
        "row": row,
        "column": err.field,
        "cell": None,
        "value": value[1] if value else "",
        "reason_zh": zh,
        "reason_en": en,
    }
