"""Cell values as operators type them (parkhub.adapters.vendors.manual.values): numbers with
separators, full-width digits and accounting negatives; periods and dates in every form Excel,
WPS and people write them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from parkhub.adapters.vendors.manual.values import parse_date, parse_number, parse_period

PERIOD = "2026-10"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (1234.5, 1234.5),
        ("1,234.5", 1234.5),
        ("１２３", 123.0),
        ("１，２３４．５", 1234.5),
        (" 12 ", 12.0),
        ("(12.5)", -12.5),
        ("-3", -3.0),
        ("1.2E+03", 1200.0),
        ("-", None),
        ("无", None),
        ("", None),
    ],
)
def test_numbers_as_operators_type_them(text: Any, expected: float | None) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    ("text", "en"),
    [
        ("约300", "must be a number, got '约300'"),
        ("300左右", "must be a number"),
        ("12%", "not a percentage"),
        ("1,23", "misplaced comma"),
        ("#DIV/0!", "Excel error #DIV/0!"),
        (True, "got TRUE"),
        (dt.datetime(2026, 10, 1), "got the date"),
    ],
)
def test_numbers_that_are_not(text: Any, en: str) -> None:
    with pytest.raises(ValueError, match=re.escape(en)):
        parse_number(text)


@pytest.mark.parametrize(
    "value",
    ["2026-10", "2026/10", "2026.10", "2026年10月", "2026年10月份", "202610", 202610,
     "2026-10-01", dt.datetime(2026, 10, 1), dt.date(2026, 10, 31), 46296, "２０２６－１０"],
)  # fmt: skip
def test_periods(value: Any) -> None:
    assert parse_period(value) == PERIOD


@pytest.mark.parametrize(
    "value",
    ["2023-05-12", "2023/5/12", "2023.5.12", "2023年5月12日", "20230512", 20230512, 45058,
     dt.datetime(2023, 5, 12, 8, 30), "2023-05-12 00:00:00"],
)  # fmt: skip
def test_dates(value: Any) -> None:
    assert parse_date(value) == dt.date(2023, 5, 12)


@pytest.mark.parametrize("value", ["2026-13", "10月", "上个月", 1899, "2026-10-xx"])
def test_bad_periods(value: Any) -> None:
    with pytest.raises(ValueError, match="period"):
        parse_period(value)


def test_a_period_takes_every_date_text_a_date_takes() -> None:
    """A database export writes a day with its time to the millisecond: the period column took
    it with seconds but refused it with milliseconds, which a date column took."""
    text = "2026-10-01 00:00:00.000"
    assert parse_date(text) == dt.date(2026, 10, 1)
    assert parse_period(text) == PERIOD
