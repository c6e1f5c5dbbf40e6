"""Entry files as an attacker (or a very careless operator) makes them: numbers no float holds,
zip bombs, extra sheets in a template, thousands of sheets, a cell at XFD1048576, merged ranges
over the whole sheet, absurd headers, huge cells, oversized CSV. Each is refused (or skipped
with a warning) quickly, with a clear error, and nothing of it replaces stored data."""

from __future__ import annotations

import io
import resource
import time
import zipfile
from typing import Any

import openpyxl
import pytest

from parkhub.adapters.vendors.base import ParseResult, SourceContext
from parkhub.adapters.vendors.manual import ManualAdapter, ManualConfig
from parkhub.adapters.vendors.manual.template import template_bytes
from parkhub.adapters.vendors.manual.workbook import read_metadata
from parkhub.errors import InputError
from parkhub.hub import Hub
from tests.adapters.vendors.manual.test_import import (
    ENTERPRISES,
    PARK,
    PARK_ID,
    PERIOD,
    _revisions,
    _store_roster,
    adapter,
    code,
    fill,
    open_wb,
    parse,
    raw,
    row_of,
    save,
)

SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def template() -> bytes:
    return template_bytes(PARK, PERIOD, ENTERPRISES)


def with_parts(body: bytes, edit: dict[str, Any], add: dict[str, bytes] | None = None) -> bytes:
    """The workbook with parts rewritten (name -> function of the old bytes) or added."""
    src = zipfile.ZipFile(io.BytesIO(body))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename in edit:
                data = edit[item.filename](data)
            dst.writestr(item, data)
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def zip_bomb(mb: int) -> bytes:
    """A real template plus shared strings that unpack to `mb` MB of 'A' (the attack: 242 KB
    whose shared strings unpack to 184 MB took 599 MB of memory and 32 s)."""
    body = with_parts(
        template(),
        {
            "[Content_Types].xml": lambda d: d.replace(
                b"</Types>",
                f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_TYPE}"/>'
                "</Types>".encode(),
            ),
            "xl/_rels/workbook.xml.rels": lambda d: d.replace(
                b"</Relationships>",
                f'<Relationship Id="rIdSST" Type="{SST_REL}" Target="sharedStrings.xml"/>'
                "</Relationships>".encode(),
            ),
        },
    )
    out = io.BytesIO(body)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo("xl/sharedStrings.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as f:
            f.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            f.write(b"<si><t>")
            chunk = b"A" * (1024 * 1024)
            for _ in range(mb):
                f.write(chunk)
            f.write(b"</t></si></sst>")
    return out.getvalue()


def only_error(result: ParseResult) -> InputError:
    assert result.records == []
    [err] = result.errors
    return err


def filled(**values: Any) -> bytes:
    wb = open_wb(template())
    ws = wb["月度数据"]
    fill(ws, row_of(ws, code(1)), **values)
    return save(wb)


# -- 3. numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1e400", "-1e400", "1E+999"])
def test_a_number_no_float_holds_is_an_error_naming_the_column(text: str) -> None:
    result = parse(filled(tax=text, revenue=12))
    [err] = result.errors
    assert err.column == "税收(万元)" and "超出范围" in err.reason and "not finite" in err.reason
    assert result.records == []


def test_1e400_never_replaces_a_stored_value(hub: Hub) -> None:
    """The attack: "1e400" became infinity, was stored as null and replaced the stored tax in a
    new revision."""
    _store_roster(hub)
    first = hub.ingest(adapter(), raw(filled(tax=21.3, revenue=12), filename="a.xlsx"))
    assert first.new == 1
    before = _revisions(hub)
    again = hub.ingest(adapter(), raw(filled(tax="1e400", revenue=12), filename="b.xlsx"))
    assert again.new == again.changed == 0 and again.errors
    assert _revisions(hub) == before
    [doc] = hub.store.records.docs("enterprise_monthly", park_id=PARK_ID)
    assert doc["tax_yuan"] == 213000.0


def test_a_number_past_what_the_unit_holds_exactly_is_refused() -> None:
    """99,999,999,999,999,999 万元 was delivered as 1e+17: now the cell is refused, naming the
    bound in the column's unit; the largest amount below it is kept to the fen."""
    result = parse(filled(revenue="99,999,999,999,999,999", tax=1))
    [err] = result.errors
    assert err.column == "营业收入(万元)" and "1,000,000,000" in err.reason
    assert "too large to be kept exactly" in err.reason
    [doc] = [r.document() for r in parse(filled(revenue="999,999,999.999999", tax=1)).records]
    assert doc["revenue_yuan"] == 9_999_999_999_999.99


# -- 4. zip bombs and other workbooks past the limits -----------------------------------------


def test_a_zip_bomb_workbook_is_refused_before_it_is_unpacked() -> None:
    bomb = zip_bomb(184)
    assert len(bomb) < 400 * 1024
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    err = only_error(parse(bomb, "auto"))
    assert time.monotonic() - started < 2.0  # was 32 s
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 100 * 1024  # KB; was 599 MB
    assert "解压后过大" in err.reason and "unpacks to" in err.reason and "limit" in err.reason
    assert read_metadata(bomb) == {}  # and the cheap look at its metadata does not unpack it


def test_the_unpacked_limit_is_configurable() -> None:
    bomb = zip_bomb(2)
    roomy = ManualAdapter(
        SourceContext("entry:x", PARK_ID), ManualConfig(max_unpacked_bytes=8 << 20)
    )
    assert not roomy.parse_message(raw(bomb, "auto")).errors
    tight = ManualAdapter(
        SourceContext("entry:x", PARK_ID), ManualConfig(max_unpacked_bytes=1 << 20)
    )
    assert "unpacks to" in only_error(tight.parse_message(raw(bomb, "auto"))).reason


def test_a_workbook_of_thousands_of_sheets_is_refused() -> None:
    wb = openpyxl.Workbook()
    for i in range(60):
        wb.create_sheet(f"s{i}")
    err = only_error(parse(save(wb), "auto"))
    assert "too many sheets (61; limit 50)" in err.reason


def test_a_stray_value_far_away_reads_in_no_time() -> None:
    """openpyxl's rows run to the last cell: 17 billion steps for one value in XFD1048576.
    Cells are read as the file holds them: past 2,000 blank rows the sheet ends (as before);
    a data row reaching column XFD is refused, naming the row."""
    wb = open_wb(filled(revenue=12, tax=1))
    wb["月度数据"]["XFD1048576"] = "x"
    started = time.monotonic()
    result = parse(save(wb))
    assert time.monotonic() - started < 5.0
    assert len(result.records) == 1 and not result.errors
    wb["月度数据"]["XFD5"] = "x"
    err = only_error(parse(save(wb)))
    assert "row 5 has 16384 columns (limit 256)" in err.reason


def test_a_merged_range_over_the_whole_sheet_is_refused_before_openpyxl_builds_it() -> None:
    body = with_parts(
        template(),
        {
            "xl/worksheets/sheet1.xml": lambda d: d.replace(
                b"</worksheet>",
                b'<mergeCells count="1"><mergeCell ref="A200:XFD1048576"/></mergeCells>'
                b"</worksheet>",
            )
        },
    )
    started = time.monotonic()
    err = only_error(parse(body))
    assert time.monotonic() - started < 2.0
    assert "merged ranges" in err.reason and "unmerge" in err.reason


def test_too_many_cells_are_refused() -> None:
    small = ManualAdapter(SourceContext("entry:x", PARK_ID), ManualConfig(max_cells=1000))
    wb = open_wb(template())
    ws = wb["月度数据"]
    for r in range(10, 200):
        for c in range(1, 8):
            ws.cell(r, c, 1)
    assert "too many cells" in only_error(small.parse_message(raw(save(wb)))).reason


# -- 7. a template's extra sheets -------------------------------------------------------------


def test_extra_visible_sheets_of_a_template_are_not_imported_but_named() -> None:
    wb = open_wb(filled(revenue=12, tax=1))
    extra = wb.copy_worksheet(wb["月度数据"])  # same headers, other figures: looks like data
    extra.title = "草稿"
    fill(extra, row_of(extra, code(2)), revenue=999, tax=9)
    result = parse(save(wb))
    [doc] = [r.document() for r in result.records]
    assert doc["credit_code"] == code(1)
    [warning] = [w for w in result.warnings if w.record == "草稿"]
    assert "不是模板的一部分" in warning.reason and "not imported" in warning.reason


# -- headers, cells and CSV -------------------------------------------------------------------


def test_absurd_header_rows_are_matched_in_no_time() -> None:
    """A header row of 200 cells of 30,000 brackets once took seconds a cell to match."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["统一社会信用代码", "统计期间", "营业收入(万元)", *(["(" * 30_000] * 200)])
    ws.append([code(1), PERIOD, 12])
    started = time.monotonic()
    result = parse(save(wb))
    assert time.monotonic() - started < 10.0
    assert len(result.records) == 1
    notes = [w for w in result.warnings if "unknown column" in w.reason]
    assert notes and all(len(str(w.field)) < 300 for w in notes)  # the header is cut short


def test_a_huge_cell_is_refused_naming_it() -> None:
    """Excel holds 32,767 characters a cell (`max_cell_chars`); a file can say more."""
    small = ManualAdapter(SourceContext("entry:x", PARK_ID), ManualConfig(max_cell_chars=1000))
    wb = open_wb(template())
    ws = wb["月度数据"]
    row = row_of(ws, code(1))
    ws[f"P{row}"] = "x" * 5000
    err = only_error(small.parse_message(raw(save(wb))))
    assert f"cell P{row}" in err.reason and "5000 characters (limit 1000)" in err.reason


def test_a_value_too_long_to_show_is_cut_short_in_messages() -> None:
    result = parse(filled(revenue="9" * 5000 + "x", tax=1))
    [err] = result.errors
    assert len(err.reason) < 1000 and "5001" in err.reason


def test_an_oversized_csv_is_refused_whole_and_fast() -> None:
    body = (
        "统一社会信用代码,营业收入(万元),统计期间\n" + f"{code(1)},1,2026-10\n" * 1_200_000
    ).encode()
    assert len(body) > 20 * 1024 * 1024
    err = only_error(parse(body, filename="big.csv"))
    assert "file is too large" in err.reason


def test_a_csv_past_the_row_or_column_limit_stops_being_read() -> None:
    rows = "统一社会信用代码,营业收入(万元),统计期间\n" + f"{code(1)},1,2026-10\n" * 60_000
    assert "more than 50000" in only_error(parse(rows.encode(), filename="m.csv")).reason
    wide = "统一社会信用代码,营业收入(万元)" + ",x" * 300 + "\n"
    assert "columns (limit 256)" in only_error(parse(wide.encode(), filename="w.csv")).reason
    huge = f'统一社会信用代码,营业收入(万元)\n{code(1)},"{"9" * 200_000}"\n'
    assert "too long" in only_error(parse(huge.encode(), filename="h.csv")).reason
