"""The problems of an import as rows to show an operator (CLI table, web console): sheet, row,
column, cell, value and the reason in Chinese and English."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from parkhub.errors import InputError

from .problems import EntryError, show, split_row_ref


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
