"""The canonical model: credit codes, codes, time, and the checked-in JSON Schemas."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from parkhub.canonical import Enterprise, EnterpriseMonthly, Measurement, Park
from parkhub.canonical.codes import industry_section, normalize_division
from parkhub.canonical.identifiers import check_credit_code
from parkhub.canonical.timeutil import SHANGHAI, month_bounds, parse_local, previous_period
from parkhub.cli.schemas import HERE, all_schemas

# Public example codes from reference/formats.md section 4 (verified there).
VALID = ["91110000600037341L", "91350200776049653A", "91440101MA5CJQ4N59", "123502001549897397"]
# Early Xiamen pilot codes: legal, yet they fail the check (formats.md section 4).
PILOT = ["91350100M0001TGQXM", "91350211M0000XUF46", "91350203M0001FUE2P"]


@pytest.mark.parametrize("code", VALID)
def test_valid_credit_codes(code: str) -> None:
    assert check_credit_code(code).ok


@pytest.mark.parametrize("code", PILOT)
def test_check_digit_failure_is_kept_with_a_warning(code: str) -> None:
    ent = Enterprise(park_id="p", credit_code=code, name="试点企业")
    assert ent.credit_code == code and ent.credit_code_valid is False
    assert "校验位" in ent.warnings[0]


@pytest.mark.parametrize("code", ["9111000060003734", "91110000600037341I", "hello"])
def test_malformed_credit_code_is_rejected(code: str) -> None:
    with pytest.raises(ValidationError, match="统一社会信用代码格式错误"):
        Enterprise(park_id="p", credit_code=code, name="x")


def test_credit_code_is_normalised() -> None:
    ent = Enterprise(park_id="p", credit_code=" 91110000-600037341l ", name="x")
    assert ent.credit_code == "91110000600037341L"


def test_division_codes() -> None:
    assert normalize_division("330302") == "330302"
    assert normalize_division("330322") == "330305"  # 洞头县 -> 洞头区
    assert normalize_division("330302001001") == "330302"  # 12-digit NBS code
    with pytest.raises(ValueError, match="6位"):
        normalize_division("3303")
    with pytest.raises(ValidationError):
        Park(park_id="p", name="x", division_code="abc")


def test_industry_codes() -> None:
    assert industry_section("3823") == "C"
    assert industry_section("C3587") == "C"
    assert industry_section("6510") == "I"
    assert (
        Enterprise(park_id="p", credit_code=VALID[0], name="x", industry_code="C1952").industry_code
        == "1952"
    )
    with pytest.raises(ValueError):
        industry_section("99")


def test_naive_vendor_time_is_beijing_and_stored_utc() -> None:
    m = Measurement(park_id="p", device_id="d", metric="cod", ts=dt.datetime(2026, 10, 1, 8, 0))
    assert m.ts == dt.datetime(2026, 10, 1, 0, 0, tzinfo=dt.UTC)
    assert m.key == "2026-10-01T00:00:00+00:00|d|cod|instant"


@given(st.datetimes(min_value=dt.datetime(1980, 1, 1), max_value=dt.datetime(2100, 1, 1)))
@example(dt.datetime(1991, 7, 1, 12))  # summer time: UTC+9
@example(dt.datetime(1992, 7, 1, 12))
def test_vendor_time_fast_path_agrees_with_the_time_zone_database(local: dt.datetime) -> None:
    """Beijing time -> UTC: the fixed +8 fast path equals zoneinfo, DST years 1986-91 included."""
    local = local.replace(microsecond=0)
    expected = local.replace(tzinfo=SHANGHAI).astimezone(dt.UTC)
    assert parse_local(local.strftime("%Y-%m-%d %H:%M:%S")) == expected
    assert parse_local(local.strftime("%Y%m%d%H%M%S"), "%Y%m%d%H%M%S") == expected


def test_month_bounds_are_beijing_months() -> None:
    start, end = month_bounds("2026-12")
    assert start == dt.datetime(2026, 11, 30, 16, tzinfo=dt.UTC)
    assert end == dt.datetime(2026, 12, 31, 16, tzinfo=dt.UTC)
    # 2026-10-31 20:00 UTC is already November 1st in Beijing
    assert previous_period(dt.datetime(2026, 10, 31, 20, tzinfo=dt.UTC)) == "2026-10"


def test_period_and_amounts_are_checked() -> None:
    with pytest.raises(ValidationError, match="YYYY-MM"):
        EnterpriseMonthly(park_id="p", credit_code=VALID[0], period="2026-13")
    with pytest.raises(ValidationError):
        EnterpriseMonthly(park_id="p", credit_code=VALID[0], period="2026-10", revenue_yuan=-1)


def test_equal_records_serialise_to_equal_bytes() -> None:
    a = Measurement(park_id="p", device_id="d", metric="m", ts=dt.datetime(2026, 1, 1), value=1.0)
    b = Measurement(park_id="p", device_id="d", metric="m", ts=dt.datetime(2026, 1, 1), value=1.0)
    assert a.document_json() == b.document_json()


def test_checked_in_schemas_match_the_models() -> None:
    for rel, text in all_schemas().items():
        path: Path = HERE / rel
        assert path.exists(), f"{rel} missing: run `make schemas`"
        assert path.read_text(encoding="utf-8") == text, f"{rel} drifted: run `make schemas`"
