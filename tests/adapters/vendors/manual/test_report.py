"""The problems of an import as rows for the CLI and the web console
(parkhub.adapters.vendors.manual.report)."""

from __future__ import annotations

from parkhub.adapters.vendors.base import ParseResult
from parkhub.adapters.vendors.manual.report import format_report, split_reason
from parkhub.errors import InputError

SOURCE = "entry:wz-lc-0001"


def test_format_report_reads_plain_input_errors_too() -> None:
    result = ParseResult(
        errors=[
            InputError(
                SOURCE, "月度数据!第9行", "税收(万元)", "必须为数字 (must be a number) (value 'x')"
            )
        ]
    )
    [row] = format_report(result)
    assert (row["sheet"], row["row"], row["column"], row["value"]) == (
        "月度数据",
        9,
        "税收(万元)",
        "'x'",
    )
    assert split_reason("中文说明 (english (nested) text)") == ("中文说明", "english (nested) text")
