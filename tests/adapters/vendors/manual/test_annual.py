"""The inputs of the 亩均 evaluation an operator enters: a year's figures (年度数据), value added
and pollutant emissions in the monthly sheet, and an enterprise's own land in 亩."""

from __future__ import annotations

import openpyxl

from parkhub.adapters.vendors.manual.detect import detect_kind
from parkhub.adapters.vendors.manual.files import read_file
from parkhub.adapters.vendors.manual.template import template_bytes
from tests.adapters.vendors.manual.test_import import (
    ENTERPRISES,
    PARK,
    PERIOD,
    code,
    docs,
    open_wb,
    parse,
    row_of,
    save,
)

ANNUAL_HEADERS = [
    "统一社会信用代码", "企业名称", "评价年度", "工业增加值(万元)", "实缴税金(万元)",
    "主营业务收入(万元)", "工业总产值(万元)", "综合能耗(吨标准煤)", "主要污染物排放量(吨)",
    "用电量(万千瓦时)", "年平均职工人数(人)", "R&D经费支出(万元)", "备注",
]  # fmt: skip


def _column(ws: openpyxl.worksheet.worksheet.Worksheet, header: str) -> str:
    [cell] = [c for c in ws[2] if c.value == header]
    return str(cell.column_letter)


def test_the_annual_template_is_filled_and_imported_as_a_years_figures() -> None:
    wb = open_wb(template_bytes(PARK, "2025-12", ENTERPRISES, kind="enterprise_annual"))
    ws = wb["年度数据"]
    assert [c.value for c in ws[2]] == ANNUAL_HEADERS
    row = row_of(ws, code(2))
    assert ws[f"C{row}"].value == 2025 and ws[f"C{row}"].protection.locked
    for header, value in (
        ("工业增加值(万元)", 1361.6),
        ("实缴税金(万元)", 240.97),
        ("综合能耗(吨标准煤)", 505.4),
        ("主要污染物排放量(吨)", 0.2762),
        ("年平均职工人数(人)", 75),
    ):
        ws[f"{_column(ws, header)}{row}"] = value
    result = parse(save(wb), "enterprise_annual")
    assert result.errors == []
    assert ["没有填写数据，已跳过" in str(w) for w in result.warnings] == [True]  # the others
    [doc] = docs(result)
    assert doc == {
        "park_id": PARK.id,
        "credit_code": code(2),
        "year": 2025,
        "value_added_yuan": 13_616_000.0,
        "tax_yuan": 2_409_700.0,
        "energy_tce": 505.4,
        "emissions_kg": 276.2,
        "employees": 75,
    }


def test_an_annual_file_is_told_from_a_monthly_one_by_its_headers() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["统一社会信用代码", "年度", "工业增加值(万元)", "实缴税金(万元)"])
    ws.append([code(2), 2025, 100, 20])
    entry = read_file(save(wb), filename="亩均.xlsx")
    assert detect_kind(entry) == "enterprise_annual"
    result = parse(save(wb), "auto", filename="亩均.xlsx")
    assert [d["year"] for d in docs(result)] == [2025]
    ws.cell(2, 2).value = "二〇二五"
    [error] = parse(save(wb), "enterprise_annual").errors
    assert "评价年度不正确" in str(error) and error.field == "年度"


def test_monthly_value_added_and_emissions_in_the_templates_units() -> None:
    wb = open_wb(template_bytes(PARK, PERIOD, ENTERPRISES))
    ws = wb["月度数据"]
    row = row_of(ws, code(1))
    ws[f"{_column(ws, '工业增加值(万元)')}{row}"] = 120.5
    ws[f"{_column(ws, '主要污染物排放量(吨)')}{row}"] = 0.015
    [doc] = docs(parse(save(wb)))
    assert doc["value_added_yuan"] == 1_205_000.0 and doc["emissions_kg"] == 15.0


def test_own_land_is_entered_in_mu_and_round_trips_exactly() -> None:
    land = {**ENTERPRISES[0], "land_area_m2": 12_345.67}
    body = template_bytes(PARK, PERIOD, [land], kind="enterprise_roster")
    ws = open_wb(body)["企业名录"]
    assert ws[f"{_column(ws, '用地面积(亩)')}3"].value == round(12_345.67 / 666.6666666666666, 6)
    [doc] = docs(parse(body, "enterprise_roster"))
    assert doc["land_area_m2"] == 12_345.67
