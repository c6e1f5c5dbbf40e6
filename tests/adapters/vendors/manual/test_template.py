"""The entry template (issue 6): what an operator downloads — headers with units, validation,
protection, the hidden metadata, the instructions, the roster prefill — and that it reads back."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from stdnum.cn import uscc

from parkhub.adapters.vendors.base import RawMessage, SourceContext
from parkhub.adapters.vendors.manual import ManualAdapter, ManualConfig
from parkhub.adapters.vendors.manual.columns import COLUMNS
from parkhub.adapters.vendors.manual.files import XLSX_CONTENT_TYPE
from parkhub.adapters.vendors.manual.metadata import META_SHEET, TEMPLATE_VERSION
from parkhub.adapters.vendors.manual.template import (
    template_bytes,
    template_filename,
    write_template,
)
from parkhub.adapters.vendors.manual.workbook import read_metadata
from parkhub.config import ParkConfig

PARK = ParkConfig(id="p1", name="鹿城智造小微企业园", division_code="330302")
PERIOD = "2026-10"


def code(n: int) -> str:
    base = f"9133030257{n:07d}"
    return base + str(uscc.calc_check_digit(base))


ENTERPRISES: list[dict[str, Any]] = [
    {"credit_code": code(1), "name": "温州恒达鞋业有限公司", "status": "active",
     "industry_code": "1952", "above_scale": True, "floor_area_m2": 3200.0,
     "entered_on": "2021-03-01", "contact": "王经理 13900000000"},
    {"credit_code": code(2), "name": "温州瓯江电气有限公司", "status": "active"},
    {"credit_code": code(3), "name": "温州明视眼镜有限公司", "status": "left",
     "left_on": "2026-10-15"},  # left during October: still reports October
    {"credit_code": code(4), "name": "温州旧厂鞋材有限公司", "status": "left",
     "left_on": "2026-08-31"},  # left before October
    {"credit_code": code(5), "name": "温州新来科技有限公司", "status": "active",
     "entered_on": "2026-11-02"},  # joins after October
]  # fmt: skip
MONTHLY_HEADERS = [
    "统一社会信用代码", "企业名称", "统计期间", "工业总产值(万元)", "营业收入(万元)",
    "税收(万元)", "利润总额(万元)", "研发费用(万元)", "从业人员(人)", "用电量(万千瓦时)",
    "综合能耗(吨标准煤)", "工业增加值(万元)", "主要污染物排放量(吨)", "备注",
]  # fmt: skip
ROSTER_HEADERS = [
    "统一社会信用代码", "企业名称", "行业代码", "是否规上企业", "租用面积(平方米)",
    "用地面积(亩)", "入园日期", "迁出日期", "状态", "联系人及电话", "备注",
]  # fmt: skip


@pytest.fixture(scope="module")
def monthly() -> Any:
    return openpyxl.load_workbook(io.BytesIO(template_bytes(PARK, PERIOD, ENTERPRISES)))


@pytest.fixture(scope="module")
def roster() -> Any:
    body = template_bytes(PARK, PERIOD, ENTERPRISES, kind="enterprise_roster")
    return openpyxl.load_workbook(io.BytesIO(body))


def _validations(ws: Any) -> dict[str, Any]:
    """Column letter -> its data validation."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            out[rng.coord[0]] = dv
    return out


def test_monthly_headers_units_and_roster_prefill(monthly: Any) -> None:
    assert monthly.sheetnames == ["月度数据", "填写说明", META_SHEET]
    ws = monthly["月度数据"]
    assert monthly.active.title == "月度数据"
    assert PARK.name in ws["A1"].value and PERIOD in ws["A1"].value
    assert "A1:N1" in {str(r) for r in ws.merged_cells.ranges}
    assert [c.value for c in ws[2]] == MONTHLY_HEADERS
    assert [c.header for c in COLUMNS["enterprise_monthly"]] == MONTHLY_HEADERS
    prefilled = [(ws.cell(r, 1).value, ws.cell(r, 2).value, ws.cell(r, 3).value) for r in (3, 4, 5)]
    assert prefilled == [
        (code(1), "温州恒达鞋业有限公司", PERIOD),
        (code(2), "温州瓯江电气有限公司", PERIOD),
        (code(3), "温州明视眼镜有限公司", PERIOD),  # left mid-month: still in
    ]
    assert ws["A6"].value is None and ws["C6"].value == PERIOD  # blank rows for new firms
    assert ws.max_row == 5 + 20
    assert all(ws.cell(3, c).value is None for c in range(4, 15))  # figures are the operator's
    assert ws.freeze_panes == "C3"
    assert ws.column_dimensions["A"].width >= 20 and ws.column_dimensions["B"].width >= 30
    assert ws["A3"].number_format == "@" and ws["I3"].number_format == "0"


def test_monthly_validations_with_input_messages(monthly: Any) -> None:
    dvs = _validations(monthly["月度数据"])
    for letter in "DEFHJK":  # amounts: decimal >= 0
        dv = dvs[letter]
        assert (dv.type, dv.operator, dv.formula1) == ("decimal", "greaterThanOrEqual", "0")
        assert str(dv.sqref) == f"{letter}3:{letter}25"
    assert (dvs["G"].type, dvs["G"].operator) == ("decimal", "between")  # profit may be < 0
    assert (dvs["I"].type, dvs["I"].operator, dvs["I"].formula1) == (
        "whole",
        "greaterThanOrEqual",
        "0",
    )
    assert (dvs["A"].type, dvs["A"].formula1) == ("textLength", "18")
    for letter, dv in dvs.items():
        assert dv.showInputMessage and dv.prompt and len(dv.prompt) <= 255, letter
        assert dv.promptTitle and len(dv.promptTitle) <= 32, letter
        if dv.type:
            assert dv.showErrorMessage and dv.error and len(dv.error) <= 255, letter
    assert "万元" in dvs["D"].prompt and "整数" in dvs["I"].prompt and "负数" in dvs["G"].prompt


def test_key_columns_locked_by_a_protection_without_password(monthly: Any) -> None:
    ws = monthly["月度数据"]
    assert ws.protection.sheet and not ws.protection.password
    assert ws.protection.formatColumns is False  # widening columns stays allowed
    for col in "ABC":  # prefilled keys are locked
        assert ws[f"{col}3"].protection.locked, col
    for col in "DEFGHIJKLMN":  # figures are open
        assert not ws[f"{col}3"].protection.locked, col
    assert not ws["A6"].protection.locked and not ws["B6"].protection.locked  # new enterprises
    assert ws["C6"].protection.locked  # the period stays the template's
    text = "\n".join(
        str(c.value) for row in monthly["填写说明"].iter_rows() for c in row if c.value
    )
    assert "没有设置密码" in text and "撤销工作表保护" in text


def test_hidden_metadata_tells_the_importer_what_it_is(tmp_path: Path) -> None:
    path = write_template(tmp_path / template_filename(PARK, PERIOD), PARK, PERIOD, ENTERPRISES)
    assert path.name == "鹿城智造小微企业园_2026-10_月度数据.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb[META_SHEET].sheet_state == "hidden" and wb[META_SHEET].protection.sheet
    meta = read_metadata(path.read_bytes())
    assert {k: meta[k] for k in ("park_id", "period", "kind", "template_version")} == {
        "park_id": "p1",
        "period": PERIOD,
        "kind": "enterprise_monthly",
        "template_version": TEMPLATE_VERSION,
    }
    assert meta["data_sheet"] == "月度数据" and meta["park_name"] == PARK.name


def test_instructions_sheet_in_chinese(monthly: Any) -> None:
    ws = monthly["填写说明"]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    for phrase in (
        "填写说明",
        "万元",
        "万千瓦时",
        "吨标准煤",
        "约",
        ".xlsx",
        "重新导入",
        "_parkhub",
    ):
        assert phrase in text, phrase
    for header in MONTHLY_HEADERS:  # every column explained
        assert header in text, header


def test_roster_template_prefill_dropdowns_and_locks(roster: Any) -> None:
    ws = roster["企业名录"]
    assert roster.sheetnames == ["企业名录", "填写说明", META_SHEET]
    assert [c.value for c in ws[2]] == ROSTER_HEADERS
    first = [ws.cell(3, c).value for c in range(1, 11)]
    assert first[:6] == [code(1), "温州恒达鞋业有限公司", "1952", "是", 3200, None]
    assert first[6].date().isoformat() == "2021-03-01" and first[8:] == [
        "在园",
        "王经理 13900000000",
    ]
    assert ws["I5"].value == "已迁出" and ws["D4"].value is None
    assert ws.max_row == 2 + len(ENTERPRISES) + 20  # the roster keeps those who left
    dvs = _validations(ws)
    assert (dvs["D"].type, dvs["D"].formula1) == ("list", '"是,否"')
    assert (dvs["I"].type, dvs["I"].formula1) == ("list", '"在园,已迁出"')
    assert dvs["G"].type == "date" and dvs["E"].type == "decimal"
    assert ws["A3"].protection.locked and not ws["B3"].protection.locked  # names may change
    assert not ws["A8"].protection.locked  # a new enterprise's code


def test_an_unfilled_template_imports_nothing_and_no_errors() -> None:
    body = template_bytes(PARK, PERIOD, ENTERPRISES)
    adapter = ManualAdapter(SourceContext("entry:p1", "p1"), ManualConfig())
    result = adapter.parse_message(
        RawMessage("entry:p1", "enterprise_monthly", body, content_type=XLSX_CONTENT_TYPE)
    )
    assert (result.records, result.errors) == ([], [])
    [warning] = result.warnings
    assert "3 rows have no figures" in warning.reason


def test_prefilled_figures_read_back_as_the_same_records() -> None:
    """A template prefilled with stored figures imports to identical records (no revision)."""
    stored = [
        {"park_id": "p1", "credit_code": code(1), "period": PERIOD, "output_value_yuan": 5236000.0,
         "revenue_yuan": 4982500.0, "profit_yuan": -35000.0, "employees": 86,
         "electricity_kwh": 123500.0, "energy_tce": 35.2, "rnd_yuan": 1.0},
        {"park_id": "p1", "credit_code": code(2), "period": PERIOD, "tax_yuan": 0.01},
        {"park_id": "p1", "credit_code": code(2), "period": "2026-09", "tax_yuan": 7.0},
    ]  # fmt: skip
    body = template_bytes(PARK, PERIOD, ENTERPRISES, values=stored)
    ws = openpyxl.load_workbook(io.BytesIO(body))["月度数据"]
    assert (ws["D3"].value, ws["I3"].value, ws["F4"].value) == (523.6, 86, 0.000001)
    adapter = ManualAdapter(SourceContext("entry:p1", "p1"), ManualConfig())
    result = adapter.parse_message(RawMessage("entry:p1", "enterprise_monthly", body))
    assert not result.errors
    assert [r.document() for r in result.records] == stored[:2]
    roster_body = template_bytes(PARK, PERIOD, ENTERPRISES, kind="enterprise_roster")
    roster = adapter.parse_message(RawMessage("entry:p1", "enterprise_roster", roster_body))
    assert not roster.errors
    first = roster.records[0].document()
    assert {k: first[k] for k in ("above_scale", "floor_area_m2", "entered_on", "contact")} == {
        "above_scale": True,
        "floor_area_m2": 3200.0,
        "entered_on": "2021-03-01",
        "contact": "王经理 13900000000",
    }
    assert {r.document()["status"] for r in roster.records} == {"active", "left"}


@pytest.mark.parametrize(
    ("period", "kind", "message"),
    [
        ("2026-13", "enterprise_monthly", "period"),
        ("2026/10", "enterprise_monthly", "YYYY-MM"),
        ("2026-10", "park_monthly", "unknown template kind"),
    ],
)
def test_bad_period_or_kind_is_refused(period: str, kind: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        template_bytes(PARK, period, ENTERPRISES, kind=kind)
