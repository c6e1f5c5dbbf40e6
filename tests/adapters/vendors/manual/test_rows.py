"""The data rows under the header (parkhub.adapters.vendors.manual.rows): totals rows operators
add at the bottom are skipped with a warning, not refused."""

from __future__ import annotations

import pytest

from parkhub.adapters.vendors.manual.report import format_report
from tests.adapters.vendors.manual.test_import import PERIOD, code, parse


@pytest.mark.parametrize("marker", ["合计", "合计:", "合计：", "总 计", "Total"])
def test_totals_rows_are_skipped_however_they_are_written(marker: str) -> None:
    """合计： with the colon a Chinese input method writes was read as an enterprise row
    without a credit code (an error), unlike 合计:."""
    body = (
        "统一社会信用代码,企业名称,统计期间,营业收入(万元)\r\n"
        f"{code(1)},温州恒达鞋业有限公司,{PERIOD},5\r\n"
        f",{marker},,5\r\n"
    ).encode("utf-8-sig")
    result = parse(body, filename="monthly.csv")
    assert not result.errors, format_report(result)
    assert [r.key for r in result.records] == [f"{code(1)}|{PERIOD}"]
    assert any("totals row" in w["reason_en"] for w in format_report(result, include_warnings=True))
