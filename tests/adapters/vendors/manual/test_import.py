"""Importing what operators enter (issue 6): the template filled in Excel, their own workbooks,
CSV exports in UTF-8 (BOM) and GBK; row errors by sheet/row/column/value; idempotent re-import;
a corrected file makes exactly one new revision.

The fixture files in tests/fixtures/entry/ are written by `write_fixtures()` below
(`.venv/bin/python -m tests.adapters.vendors.manual.test_import`); see the README there.
"""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import openpyxl
import pytest
from sqlalchemy import select
from stdnum.cn import uscc

from parkhub.adapters.vendors.base import ParseResult, RawMessage, SourceContext
from parkhub.adapters.vendors.manual import ManualAdapter, ManualConfig
from parkhub.adapters.vendors.manual.files import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from parkhub.adapters.vendors.manual.report import format_report
from parkhub.adapters.vendors.manual.template import template_bytes, write_template
from parkhub.adapters.vendors.manual.workbook import read_metadata
from parkhub.canonical import Enterprise, jsonutil
from parkhub.config import ParkConfig
from parkhub.hub import Hub
from parkhub.store import schema as t
from parkhub.testing import VendorAdapterSuite
from tests.helpers import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "entry"
PARK_ID = "wz-lc-0001"  # the demo park of the `hub` fixture
SOURCE = f"entry:{PARK_ID}"
PERIOD = "2026-10"
PARK = ParkConfig(id=PARK_ID, name="鹿城智造小微企业园", division_code="330302")


def code(n: int) -> str:
    """A synthetic credit code with a correct check character (no registrar assigns these)."""
    base = f"9133030257{n:07d}"
    return base + str(uscc.calc_check_digit(base))


ENTERPRISES: list[dict[str, Any]] = [
    {
        "credit_code": code(1),
        "name": "温州恒达鞋业有限公司",
        "industry_code": "1952",
        "above_scale": True,
        "floor_area_m2": 3200.0,
        "entered_on": "2021-03-01",
    },
    {
        "credit_code": code(2),
        "name": "温州瓯江电气有限公司",
        "industry_code": "3823",
        "floor_area_m2": 1850.5,
        "entered_on": "2022-07-15",
    },
    {"credit_code": code(3), "name": "温州明视眼镜有限公司", "industry_code": "3587"},
    {"credit_code": code(4), "name": "温州新华印务有限公司", "industry_code": "2319"},
    {  # left before October: not in the October template
        "credit_code": code(5),
        "name": "温州旧厂鞋材有限公司",
        "status": "left",
        "left_on": "2026-08-31",
    },
]
MONTHLY_HEADERS = {
    "工业总产值(万元)": "D",
    "营业收入(万元)": "E",
    "税收(万元)": "F",
    "利润总额(万元)": "G",
    "研发费用(万元)": "H",
    "从业人员(人)": "I",
    "用电量(万千瓦时)": "J",
    "综合能耗(吨标准煤)": "K",
}


# -- helpers ----------------------------------------------------------------------------------


def adapter(park_id: str = PARK_ID) -> ManualAdapter:
    return ManualAdapter(SourceContext(f"entry:{park_id}", park_id), ManualConfig())


def raw(body: bytes, stream: str = "enterprise_monthly", filename: str | None = None) -> RawMessage:
    content_type = CSV_CONTENT_TYPE if filename and filename.endswith(".csv") else XLSX_CONTENT_TYPE
    meta = {"filename": filename} if filename else {}
    return RawMessage(SOURCE, stream, body, content_type=content_type, meta=meta)


def parse(body: bytes, stream: str = "enterprise_monthly", **kw: Any) -> ParseResult:
    return adapter().parse_message(raw(body, stream, **kw))


def save(wb: Any) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def open_wb(body: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(body))


def row_of(ws: Any, credit_code: str) -> int:
    for r in range(3, ws.max_row + 1):
        if ws.cell(r, 1).value == credit_code:
            return r
    raise AssertionError(f"{credit_code} not in the template")


def first_blank_row(ws: Any) -> int:
    for r in range(3, ws.max_row + 1):
        if ws.cell(r, 1).value is None:
            return r
    raise AssertionError("no blank row")


def fill(ws: Any, row: int, **values: Any) -> None:
    """Type values into a row as an operator would (by header)."""
    names = {
        "output": "工业总产值(万元)",
        "revenue": "营业收入(万元)",
        "tax": "税收(万元)",
        "profit": "利润总额(万元)",
        "rnd": "研发费用(万元)",
        "employees": "从业人员(人)",
        "electricity": "用电量(万千瓦时)",
        "energy": "综合能耗(吨标准煤)",
    }
    for key, value in values.items():
        ws[f"{MONTHLY_HEADERS[names[key]]}{row}"] = value


def cache_formula_values(body: bytes, sheet_xml: str, values: dict[str, Any]) -> bytes:
    """Give formula cells a cached value, as Excel does on save (openpyxl never does)."""
    src = zipfile.ZipFile(io.BytesIO(body))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == f"xl/worksheets/{sheet_xml}":
                text = data.decode()
                for ref, value in values.items():
                    text, n = re.subn(
                        rf'(<c r="{ref}"[^>]*><f>[^<]*</f>)<v\s*/>', rf"\g<1><v>{value}</v>", text
                    )
                    assert n == 1, ref
                data = text.encode()
            dst.writestr(item, data)
    return out.getvalue()


def docs(result: ParseResult) -> list[dict[str, Any]]:
    return [r.document() for r in result.records]


# -- fixtures (the files in tests/fixtures/entry) ---------------------------------------------


def filled_monthly_template() -> bytes:
    wb = open_wb(template_bytes(PARK, PERIOD, ENTERPRISES))
    ws = wb["月度数据"]
    fill(ws, row_of(ws, code(1)), output=523.6, revenue=498.25, tax=21.3, profit=-3.5)
    fill(ws, row_of(ws, code(1)), rnd=12, employees=86, electricity=12.35, energy=35.2)
    fill(ws, row_of(ws, code(2)), output="1,234.5", revenue="１２００", tax="45.6", employees="52")
    fill(ws, row_of(ws, code(3)), output=0, revenue=80.25, employees=23, electricity=1.2)
    return save(wb)  # code(4) left blank: skipped with a warning


def operator_workbook() -> bytes:
    """A workbook an operator made without the template: a title, reordered columns with units
    of their own, a merged period column, numbers as text, a formula, a totals row."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "10月"
    ws["A1"] = "鹿城智造小微企业园2026年10月企业经营情况表"
    ws.merge_cells("A1:J1")
    ws["A2"] = "填报单位：园区运营公司"
    ws.append(
        [
            "序号",
            "企业名称",
            "统一社会信用代码",
            "所属期",
            "营业收入\n（万元）",
            "工业总产值（元）",
            "实缴税金/万元",
            "从业人数",
            "用电量（度）",
            "联系人",
        ]
    )
    ws.append([1, "温州恒达鞋业有限公司", code(1), "2026年10月", 498.25, 5236000, "21.3", 86])
    ws.append([2, "温州瓯江电气有限公司", code(2), None, "1,200", "=F4*2", 45.6, "５２", 8000])
    ws.append([3, "温州明视眼镜有限公司", f" {code(3).lower()} ", None, 80.25, 0, None, 23])
    ws.append([None, "合计", None, None, "=SUM(E4:E6)", "=SUM(F4:F6)"])
    ws.merge_cells("D4:D6")
    wb.create_sheet("Sheet2")
    body = save(wb)
    return cache_formula_values(body, "sheet1.xml", {"F5": 10472000, "E7": 1778.5, "F7": 15708000})


CSV_ROWS = [
    [
        *("序号", "统一社会信用代码", "企业名称", "统计期间", "工业总产值(万元)"),
        *("营业收入(万元)", "税收(万元)", "从业人员(人)", "用电量(万千瓦时)"),
    ],
    ["1", code(1), "温州恒达鞋业有限公司", "2026-10", "523.6", "498.25", "21.3", "86", "12.35"],
    ["2", code(2), "温州瓯江电气有限公司", "2026/10", "1,234.5", "1200", "45.6", "52", ""],
    ["", "", "", "", "", "", "", "", ""],
    ["3", code(3), "温州明视眼镜有限公司", "202610", "0", "80.25", "-", "23", "1.2"],
]


def monthly_csv(encoding: str) -> bytes:
    text = "\r\n".join(",".join(f'"{c}"' if "," in c else c for c in r) for r in CSV_ROWS)
    return (text + "\r\n").encode(encoding)


def filled_roster_template() -> bytes:
    wb = open_wb(template_bytes(PARK, PERIOD, ENTERPRISES[:2], kind="enterprise_roster"))
    ws = wb["企业名录"]
    ws["D4"] = "是"  # 瓯江电气 became above scale
    r = first_blank_row(ws)
    new = [code(6), "温州鹿城包装有限公司", "2319", "否", "1,200", None, "2026/9/1", None, "在园"]
    for col, value in enumerate(new, start=1):
        ws.cell(r, col).value = value
    return save(wb)


def bad_rows_template() -> bytes:
    """One row each: text in a number (约300), a negative amount, a malformed credit code."""
    wb = open_wb(template_bytes(PARK, PERIOD, ENTERPRISES))
    ws = wb["月度数据"]
    fill(ws, row_of(ws, code(1)), output=523.6, revenue=498.25)
    fill(ws, row_of(ws, code(2)), output=300, revenue="约300")
    fill(ws, row_of(ws, code(3)), output=88.5, tax=-2)
    r = first_blank_row(ws)
    ws[f"A{r}"], ws[f"B{r}"] = "91330302ABC", "新入园企业"
    fill(ws, r, output=10)
    return save(wb)


def formula_without_value() -> bytes:
    wb = open_wb(template_bytes(PARK, PERIOD, ENTERPRISES))
    ws = wb["月度数据"]
    fill(ws, row_of(ws, code(1)), output=523.6, revenue="=D3*0.9")
    return save(wb)


def roster_gbk_csv() -> bytes:
    rows = [
        "统一社会信用代码,企业名称,行业代码,是否规上企业,租用面积(平方米),入园日期,状态",
        f"{code(1)},温州恒达鞋业有限公司,1952,是,3200,2021/3/1,在园",
        f'{code(2)},温州瓯江电气有限公司,3823,否,"1,850.5",2022年7月15日,在园',
    ]
    return ("\r\n".join(rows) + "\r\n").encode("gbk")


FIXTURE_FILES = {
    "enterprise_monthly.template_filled.xlsx": filled_monthly_template,
    "enterprise_monthly.operator_workbook.xlsx": operator_workbook,
    "enterprise_monthly.utf8_bom.csv": lambda: monthly_csv("utf-8-sig"),
    "enterprise_monthly.gbk.csv": lambda: monthly_csv("gbk"),
    "enterprise_roster.template_filled.xlsx": filled_roster_template,
    "enterprise_roster.gbk.csv": roster_gbk_csv,
    "enterprise_monthly.bad_rows.xlsx": bad_rows_template,
    "enterprise_monthly.bad_formula_without_value.xlsx": formula_without_value,
    "enterprise_monthly.bad_old_xls.xls": lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
}


def write_fixtures(folder: Path = FIXTURES) -> None:
    """(Re)write the fixture files and the expected documents of the good ones."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, make in FIXTURE_FILES.items():
        body = make()
        (folder / name).write_bytes(body)
        stream, case = name.split(".")[:2]
        if not case.startswith("bad_"):
            result = ManualAdapter(SourceContext("manual-test", PARK_ID), ManualConfig())
            parsed = result.parse_message(RawMessage("manual-test", stream, body))
            assert not parsed.errors, [str(e) for e in parsed.errors]
            expected = folder / f"{stream}.{case}.expected.json"
            text = json.dumps(docs(parsed), ensure_ascii=False, indent=1)
            expected.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {folder / name}")


# -- the conformance kit over the fixture files -----------------------------------------------


class TestManualConformance(VendorAdapterSuite):
    adapter = ManualAdapter
    config: ClassVar[Mapping[str, Any]] = {}
    samples = FIXTURES
    park_id = PARK_ID  # the templates belong to this park


# -- end to end through the hub (SQLite and PostgreSQL) ---------------------------------------


def _store_roster(hub: Hub) -> list[dict[str, Any]]:
    hub.ingest_records(
        [Enterprise.model_validate({"park_id": PARK_ID, **e}) for e in ENTERPRISES],
        source="qisheng-lc",
    )
    return hub.store.records.docs("enterprise", park_id=PARK_ID)


def _revisions(hub: Hub) -> dict[tuple[str, str], int]:
    with hub.store.engine.connect() as conn:
        rows = conn.execute(select(t.records.c.kind, t.records.c.key, t.records.c.revision))
        return {(k, key): rev for k, key, rev in rows}


def test_operator_fills_the_template_imports_fixes_and_reimports(hub: Hub, tmp_path: Path) -> None:
    path = write_template(tmp_path / "october.xlsx", PARK, PERIOD, _store_roster(hub))
    wb = openpyxl.load_workbook(path)
    ws = wb["月度数据"]
    r1, r2, r3, r4 = (row_of(ws, code(n)) for n in (1, 2, 3, 4))
    fill(ws, r1, output=523.6, revenue="498.25", tax=21.3, employees=86, electricity=12.35)
    fill(ws, r2, output=300, revenue="约300", tax=5)  # text in a number
    fill(ws, r3, output=88.5, tax=-2)  # a negative amount
    fill(ws, r4, output="1,234.5", employees="５２")
    new = first_blank_row(ws)
    ws[f"A{new}"], ws[f"B{new}"] = "91330302ABC", "温州新入园有限公司"  # malformed credit code
    fill(ws, new, output=10)
    body = save(wb)
    source = adapter()

    first = hub.ingest(source, raw(body, filename="october.xlsx"))
    assert (first.new, first.changed, first.status) == (2, 0, "partial")
    report = format_report(first)
    assert [(d["sheet"], d["row"], d["column"], d["cell"], d["value"]) for d in report] == [
        ("月度数据", r2, "营业收入(万元)", f"E{r2}", "约300"),
        ("月度数据", r3, "税收(万元)", f"F{r3}", "-2"),
        ("月度数据", new, "统一社会信用代码", f"A{new}", "91330302ABC"),
    ]
    for d in report:
        assert re.search(r"[\u4e00-\u9fff]", d["reason_zh"]) and d["value"] in d["reason_zh"]
        assert re.match(r"[a-z]", d["reason_en"]) and d["value"] in d["reason_en"]
    assert "应填数字" in report[0]["reason_zh"] and "must be a number" in report[0]["reason_en"]
    assert "不能为负数" in report[1]["reason_zh"] and "negative" in report[1]["reason_en"]
    assert "信用代码格式错误" in report[2]["reason_zh"]
    assert [e.record for e in first.errors] == [f"月度数据!第{n}行" for n in (r2, r3, new)]

    # nothing lost: the file as uploaded is in the raw inbox, with its row errors
    [kept] = hub.store.inbox.messages(ids=[first.raw_id])
    assert bytes(kept["body"]) == body and kept["status"] == "partial"
    assert f"月度数据!第{r2}行" in kept["errors"] and "约300" in kept["errors"]

    doc = hub.store.records.get("enterprise_monthly", f"{code(1)}|{PERIOD}")
    assert doc is not None and doc["revision"] == 1 and doc["source"] == SOURCE
    assert jsonutil.loads(doc["doc"]) == {
        "park_id": PARK_ID,
        "credit_code": code(1),
        "period": PERIOD,
        "output_value_yuan": 5236000.0,
        "revenue_yuan": 4982500.0,
        "tax_yuan": 213000.0,
        "employees": 86,
        "electricity_kwh": 123500.0,
    }

    # the same file again changes nothing: no revision, no delivery
    revisions, deliveries = _revisions(hub), hub.store.outbox.deliveries(limit=10_000)
    again = hub.ingest(source, raw(body, filename="october.xlsx"))
    assert again.duplicate and again.raw_id == first.raw_id
    assert (again.new, again.changed, again.deliveries) == (0, 0, 0)
    assert _revisions(hub) == revisions
    assert hub.store.outbox.deliveries(limit=10_000) == deliveries

    # a corrected file (one value changed) makes exactly one new revision
    ws[f"D{r1}"] = 525
    corrected = hub.ingest(source, raw(save(wb), filename="october-v2.xlsx"))
    assert (corrected.new, corrected.changed, corrected.unchanged) == (0, 1, 1)
    after = _revisions(hub)
    assert {k for k in after if after[k] != revisions.get(k)} == {
        ("enterprise_monthly", f"{code(1)}|{PERIOD}")
    }
    assert after[("enterprise_monthly", f"{code(1)}|{PERIOD}")] == 2

    # the operator fixes the listed rows and imports again: the three rows come in
    ws[f"E{r2}"], ws[f"F{r3}"], ws[f"A{new}"] = 300, 2, code(7)
    fixed = hub.ingest(source, raw(save(wb), filename="october-v3.xlsx"))
    assert (fixed.new, fixed.changed, fixed.unchanged, fixed.status) == (3, 0, 2, "parsed")
    assert not fixed.errors


def test_roster_import_delivers_once_and_a_correction_flows_on(hub: Hub, tmp_path: Path) -> None:
    path = write_template(tmp_path / "roster.xlsx", PARK, PERIOD, [], kind="enterprise_roster")
    wb = openpyxl.load_workbook(path)
    ws = wb["企业名录"]
    for i, n in enumerate((1, 2, 3)):
        row = [code(n), f"温州第{n}号企业有限公司", "3823", "是" if n == 1 else "否", "1,200"]
        row += [None, "2023/5/12", None, "在园", "张先生 13800000000"]
        for col, value in enumerate(row, start=1):
            ws.cell(3 + i, col).value = value
    body = save(wb)
    source = adapter()

    routes = len(
        hub.ingestion.routes("enterprise", PARK_ID)
    )  # the provincial roster report, at least
    assert routes >= 1
    first = hub.ingest(source, raw(body, "enterprise_roster"))
    assert (first.new, first.deliveries, first.errors) == (3, 3 * routes, [])
    stored = hub.store.records.get("enterprise", code(1))
    assert stored is not None
    assert jsonutil.loads(stored["doc"]) | {"park_id": PARK_ID} == {
        "park_id": PARK_ID,
        "credit_code": code(1),
        "credit_code_valid": True,
        "name": "温州第1号企业有限公司",
        "industry_code": "3823",
        "above_scale": True,
        "floor_area_m2": 1200.0,
        "entered_on": "2023-05-12",
        "contact": "张先生 13800000000",
        "status": "active",
    }
    deliveries = hub.store.outbox.deliveries(limit=10_000)
    assert hub.ingest(source, raw(body, "enterprise_roster")).duplicate
    again = open_wb(body)  # saved again after a remark and a wider column: same records
    again["企业名录"]["K3"] = "已核对"
    again["企业名录"].column_dimensions["B"].width = 40
    resaved = hub.ingest(source, raw(save(again), "enterprise_roster"))
    assert (resaved.duplicate, resaved.unchanged, resaved.deliveries) == (False, 3, 0)
    assert hub.store.outbox.deliveries(limit=10_000) == deliveries

    ws["E4"] = 1350  # one area corrected
    corrected = hub.ingest(source, raw(save(wb), "enterprise_roster"))
    assert (corrected.changed, corrected.unchanged, corrected.deliveries) == (1, 2, routes)
    newest = hub.store.outbox.deliveries(limit=routes)
    assert {(d["record_key"], d["revision"], bool(d["correction"])) for d in newest} == {
        (code(2), 2, True)
    }


def test_csv_in_utf8_bom_and_gbk_import_the_same_records(hub: Hub) -> None:
    utf8, gbk = monthly_csv("utf-8-sig"), monthly_csv("gbk")
    assert utf8.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    source = adapter()
    first = hub.ingest(source, raw(utf8, filename="十月.csv"))
    assert (first.new, first.errors) == (3, [])
    second = hub.ingest(source, raw(gbk, filename="十月-gbk.csv"))
    assert (second.duplicate, second.new, second.changed, second.unchanged) == (False, 0, 0, 3)
    doc = hub.store.records.get("enterprise_monthly", f"{code(2)}|{PERIOD}")
    assert doc is not None and jsonutil.loads(doc["doc"])["output_value_yuan"] == 12345000.0


# -- what operators produce (no database) -----------------------------------------------------


def test_operator_workbook_reordered_units_merged_formulas_totals() -> None:
    result = parse(FIXTURES.joinpath("enterprise_monthly.operator_workbook.xlsx").read_bytes())
    assert not result.errors, [str(e) for e in result.errors]
    by_code = {d["credit_code"]: d for d in docs(result)}
    assert by_code[code(1)] == {
        "park_id": PARK_ID,
        "credit_code": code(1),
        "period": PERIOD,
        "output_value_yuan": 5236000.0,  # header in 元
        "revenue_yuan": 4982500.0,
        "tax_yuan": 213000.0,  # "21.3" as text, header 实缴税金/万元
        "employees": 86,
    }
    assert by_code[code(2)]["period"] == PERIOD  # merged period cell fills down
    assert by_code[code(2)]["output_value_yuan"] == 10472000.0  # cached formula value
    assert by_code[code(2)]["revenue_yuan"] == 12000000.0  # "1,200"
    assert by_code[code(2)]["employees"] == 52  # full-width digits
    assert by_code[code(2)]["electricity_kwh"] == 8000.0  # header in 度
    assert code(3) in by_code  # lower case and spaces around the code are fine
    warnings = format_report(result, include_warnings=True)
    assert {(w["column"], w["reason_en"]) for w in warnings if w["column"]} >= {
        ("联系人", "unknown column, ignored (not imported)"),
        ("从业人数", "the header names no unit; taken as the template's unit 人"),
    }
    assert any(w["row"] == 7 and "合计" in w["reason_zh"] for w in warnings)


def test_formula_without_cached_value_is_explained() -> None:
    body = FIXTURES.joinpath("enterprise_monthly.bad_formula_without_value.xlsx").read_bytes()
    [err] = format_report(parse(body))
    assert (err["column"], err["value"]) == ("营业收入(万元)", "=D3*0.9")
    assert "保存后再导入" in err["reason_zh"] and "no cached value" in err["reason_en"]


def test_bad_rows_fixture_lists_each_bad_row() -> None:
    result = parse(FIXTURES.joinpath("enterprise_monthly.bad_rows.xlsx").read_bytes())
    assert [r.key for r in result.records] == [f"{code(1)}|{PERIOD}"]
    assert [(d["cell"], d["value"]) for d in format_report(result)] == [
        ("E4", "约300"),
        ("F5", "-2"),
        ("A7", "91330302ABC"),
    ]


def test_credit_codes_excel_turned_into_numbers_and_check_characters() -> None:
    wb = open_wb(template_bytes(PARK, PERIOD, []))
    ws = wb["月度数据"]
    ws["A3"], ws["B3"], ws["D3"] = 9.13303025700000e17, "数字代码", 1
    bad_check = code(8)[:-1] + ("0" if code(8)[-1] != "0" else "1")
    ws["A4"], ws["B4"], ws["D4"] = bad_check, "校验位不符", 2
    result = parse(save(wb))
    [err] = format_report(result)
    assert err["cell"] == "A3" and "存成了数字" in err["reason_zh"]
    assert [r.key for r in result.records] == [f"{bad_check}|{PERIOD}"]  # kept, with a warning
    [warning] = [w for w in format_report(result, include_warnings=True) if w["cell"] == "A4"]
    assert warning["level"] == "warning" and "check character" in warning["reason_en"]


def test_duplicate_rows_total_rows_and_unfilled_rows() -> None:
    wb = open_wb(template_bytes(PARK, PERIOD, ENTERPRISES))
    ws = wb["月度数据"]
    fill(ws, 3, output=1)
    r = first_blank_row(ws)
    ws[f"A{r}"], ws[f"D{r}"] = code(1), 2  # the same enterprise again
    ws[f"B{r + 1}"], ws[f"D{r + 1}"] = "合计", 3
    result = parse(save(wb))
    assert [rec.document()["output_value_yuan"] for rec in result.records] == [10000.0]
    [dup] = format_report(result)
    assert dup["row"] == r and "重复" in dup["reason_zh"] and "第3行" in dup["reason_zh"]
    notes = [w["reason_en"] for w in format_report(result, include_warnings=True)[1:]]
    assert any("totals row" in n for n in notes)
    assert any(n.startswith("3 rows have no figures") for n in notes)  # codes 2-4 unfilled


def test_a_template_of_another_park_or_kind_is_refused() -> None:
    body = FIXTURES.joinpath("enterprise_monthly.template_filled.xlsx").read_bytes()
    other = adapter("wz-lc-0002").parse_message(raw(body))
    [err] = other.errors
    assert "wz-lc-0001" in err.reason and not other.records
    [err] = parse(body, "enterprise_roster").errors
    assert "not enterprise_roster" in err.reason


def test_stream_is_detected_from_metadata_sheet_names_and_headers() -> None:
    for name, kind in (
        ("enterprise_monthly.template_filled.xlsx", "enterprise_monthly"),
        ("enterprise_roster.template_filled.xlsx", "enterprise"),
        ("enterprise_monthly.operator_workbook.xlsx", "enterprise_monthly"),
        ("enterprise_monthly.gbk.csv", "enterprise_monthly"),
        ("enterprise_roster.gbk.csv", "enterprise"),
    ):
        result = parse(FIXTURES.joinpath(name).read_bytes(), "auto")
        assert result.records and {r.kind for r in result.records} == {kind}, name


def test_headers_outweigh_a_misleading_sheet_name() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "企业信息"  # sounds like a roster, holds monthly figures
    ws.append(["统一社会信用代码", "企业名称", "统计期间", "营业收入(万元)"])
    ws.append([code(1), "温州恒达鞋业有限公司", PERIOD, 5])
    assert [r.kind for r in parse(save(wb), "auto").records] == ["enterprise_monthly"]
    ws.delete_cols(3, 2)  # only codes and names left: a roster
    assert [r.kind for r in parse(save(wb), "auto").records] == ["enterprise"]


def test_unreadable_files_say_what_to_do() -> None:
    cases = {
        b"": "the file is empty",
        FIXTURES.joinpath("enterprise_monthly.bad_old_xls.xls").read_bytes(): "save it as .xlsx",
        b"PK\x03\x04broken": "cannot open the workbook",
        "名称,地址\n甲,乙\n".encode("gbk"): "no header row found",
        b"\x00\xff\xfe\x00": "cannot decode",
    }
    for body, en in cases.items():
        [err] = parse(body, "auto" if en != "no header row found" else "enterprise_monthly").errors
        assert en in err.reason and err.source == SOURCE, (body[:8], err.reason)


def test_too_many_rows_are_refused() -> None:
    body = monthly_csv("utf-8")
    small = ManualAdapter(SourceContext(SOURCE, PARK_ID), ManualConfig(max_rows=3))
    [err] = small.parse_message(raw(body)).errors
    assert "too many rows" in err.reason


def test_read_metadata_names_the_park_before_storing() -> None:
    body = FIXTURES.joinpath("enterprise_monthly.template_filled.xlsx").read_bytes()
    meta = read_metadata(body)
    assert (meta["park_id"], meta["period"], meta["kind"]) == (
        PARK_ID,
        PERIOD,
        "enterprise_monthly",
    )
    assert read_metadata(monthly_csv("utf-8")) == {}


if __name__ == "__main__":  # .venv/bin/python -m tests.adapters.vendors.manual.test_import
    write_fixtures(Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURES)
