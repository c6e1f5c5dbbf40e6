"""The faces' entry API: what an import shows an operator, and a web form in template units."""

from __future__ import annotations

from parkhub.errors import InputError
from parkhub.ingest import IngestResult
from parkhub.ingest.entry import FORM_COLUMNS
from parkhub.store import RawStatus


def test_an_import_summary_counts_and_lists_errors_before_warnings() -> None:
    warning = InputError("entry:p1", "月度数据!5", "统一社会信用代码", "校验位不符 (check digit)")
    error = InputError("entry:p1", "月度数据!4", "营业收入(万元)", "不能为负数 (negative)")
    result = IngestResult(
        7, status=RawStatus.PARTIAL, new=2, changed=1, deliveries=3, errors=[error],
        warnings=[warning],
    )  # fmt: skip
    summary = result.summary()
    assert {k: v for k, v in summary.items() if k != "problems"} == {
        "raw_id": 7,
        "duplicate": False,
        "status": "partial",
        "new": 2,
        "changed": 1,
        "unchanged": 0,
        "deliveries": 3,
        "errors": 1,
        "held": 0,
        "findings": [],
    }
    assert [p["level"] for p in summary["problems"]] == ["error", "warning"]
    assert summary["problems"][0]["column"] == "营业收入(万元)"


def test_form_columns_are_the_templates_monthly_figures_in_its_units() -> None:
    by_field = {c.field: c for c in FORM_COLUMNS}
    assert by_field["revenue_yuan"].header == "营业收入(万元)"
    assert "credit_code" not in by_field and "remarks" not in by_field
    assert by_field["revenue_yuan"].in_template_unit(1_234_500) == 123.45
    assert by_field["electricity_kwh"].in_template_unit(12_000) == 1.2
    assert by_field["employees"].in_template_unit(35) == 35
