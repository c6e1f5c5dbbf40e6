"""Fuzzing operator entry end to end: CSV files and workbooks with cells that say anything, rows
dropped or doubled, broken encodings, truncated or random zips, imported into a real store.

The property an operator relies on: an import ends in an IngestResult (its problems listed) or
a parkhub error (ConfigError, InputError, ForeignRecordsError), never a traceback; and nothing
is half-stored: the records added are exactly the result's `new`, and a refused file adds none.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell

from parkhub.demo import PARK_ID
from parkhub.errors import ParkhubError
from parkhub.hub import Hub
from tests.fuzzing import FUZZ, FUZZ_SLOW, ODD_NUMBERS, ODD_TEXT
from tests.helpers import FIXTURES, make_config

pytestmark = pytest.mark.fuzz

ENTRY = FIXTURES / "entry"
CSV_TEXT = (ENTRY / "enterprise_monthly.gbk.csv").read_bytes().decode("gbk")
XLSX = (ENTRY / "enterprise_monthly.template_filled.xlsx").read_bytes()

cell = (
    st.sampled_from(ODD_NUMBERS + ODD_TEXT)
    | st.text(max_size=12)
    | st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str)
    | st.sampled_from(["2026-10", "2026/10", "202610", "91330302570000001T", "-", "=1+1"])
)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'entry.db'}"
    h = Hub.open(make_config("http://127.0.0.1:1", "http://127.0.0.1:2", url), url=url)
    yield h
    h.close()


def _total(hub: Hub) -> int:
    return sum(hub.store.records.counts().values())


def imports_cleanly(hub: Hub, body: bytes, filename: str) -> None:
    """The property: a result or a parkhub error; the store grows by exactly `new`."""
    before = _total(hub)
    try:
        result = hub.import_entry(body, PARK_ID, filename=filename, actor="fuzz")
    except ParkhubError:
        assert _total(hub) == before, "a refused file stored records"
        return
    assert _total(hub) == before + result.new
    assert result.summary()["errors"] == len(result.errors)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, str]:
    rows = [line.split(",") for line in CSV_TEXT.splitlines()]
    body_rows = rows[1:]
    for _ in range(draw(st.integers(0, 6))):
        if not body_rows:
            break
        r = draw(st.integers(0, len(body_rows) - 1))
        action = draw(st.sampled_from(["cell", "cell", "drop", "double", "short"]))
        if action == "cell":
            row = list(body_rows[r]) or [""]
            row[draw(st.integers(0, len(row) - 1))] = draw(cell).replace(",", "，")
            body_rows[r] = row
        elif action == "drop":
            del body_rows[r]
        elif action == "double":
            body_rows.insert(r, body_rows[r])
        else:
            body_rows[r] = body_rows[r][: draw(st.integers(0, 4))]
    header = rows[0] if draw(st.integers(0, 9)) else draw(st.lists(cell, max_size=9))
    text = "\n".join(",".join(row) for row in [header, *body_rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk", "utf-16"]))
    return text.encode(encoding, errors="replace"), "fuzz.csv"


@FUZZ
@given(csv_files() | st.tuples(st.binary(max_size=300), st.just("fuzz.csv")))
def test_csv_entry(hub: Hub, file: tuple[bytes, str]) -> None:
    imports_cleanly(hub, *file)


@st.composite
def workbooks(draw: st.DrawFn) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(XLSX))
    for _ in range(draw(st.integers(1, 8))):
        ws = book.worksheets[draw(st.integers(0, len(book.worksheets) - 1))]
        row = draw(st.integers(1, max(ws.max_row, 1) + 2))
        col = draw(st.integers(1, max(ws.max_column, 1) + 1))
        value = draw(cell | st.floats(allow_nan=False) | st.integers(-(2**63), 2**63 - 1))
        target = ws.cell(row, col)
        if isinstance(target, MergedCell):
            continue
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)  # what a workbook cannot hold
        target.value = value
    if draw(st.booleans()):
        name = st.text(st.characters(codec="utf-8", categories=["L"]), min_size=1, max_size=10)
        book.create_sheet(draw(name))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _truncated(n: int) -> bytes:
    return XLSX[:n]


@FUZZ_SLOW
@given(workbooks() | st.integers(0, len(XLSX) - 1).map(_truncated) | st.binary(max_size=300))
def test_xlsx_entry(hub: Hub, body: bytes) -> None:
    imports_cleanly(hub, body, "fuzz.xlsx")


def test_the_fixtures_import(hub: Hub, tmp_path: Path) -> None:
    """The unbroken files the fuzzers start from import records (so the fuzzers reach rows)."""
    result = hub.import_entry(XLSX, PARK_ID, filename="filled.xlsx", actor="fuzz")
    assert result.new + result.unchanged + result.changed > 0
