"""Field mapping: vendor records become canonical ones with units converted by pint, times read
in the vendor's zone, ids made the source's own and credit codes checked; a value that cannot
be made fails its record alone, naming the vendor's field."""

from __future__ import annotations

from typing import Any

from parkhub.adapters.vendors.base import ParseResult, RawMessage, SourceContext
from parkhub.adapters.vendors.rest import RestAdapter, RestConfig
from parkhub.canonical import jsonutil
from parkhub.sandbox.data import credit_code

GOOD = credit_code("330302", 1)
BAD_CHECK = GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1")


def _parse(kind: str, fields: dict[str, Any], rows: list[Any], **spec: Any) -> ParseResult:
    data = {
        "name": "acme",
        "records": "rows",
        "streams": {"s": {"path": "/s", "kind": kind, "fields": fields}},
        **spec,
    }
    config = RestConfig.model_validate({"spec": data, "base_url": "http://127.0.0.1:9"})
    adapter = RestAdapter(SourceContext("acme-lc", "p1"), config)
    return adapter.parse_message(RawMessage("acme-lc", "s", jsonutil.dumps({"rows": rows})))


READING = {"device_id": "meter", "metric": {"const": "electricity"}, "ts": "at"}


def test_values_are_converted_to_the_canonical_unit_which_is_recorded() -> None:
    rows = [
        {"meter": "M1", "at": "2026-10-01 08:00:00", "v": 0.1, "u": "MWh"},
        {"meter": "M2", "at": "2026-10-01 08:00:00", "v": 12, "u": "万kWh"},
        {"meter": "M3", "at": "2026-10-01 08:00:00", "v": 5, "u": "mg/L"},  # no base unit
    ]
    result = _parse("measurement", {**READING, "value": {"path": "v", "unit_at": "u"}}, rows)
    assert [(r.value, r.unit) for r in result.records] == [  # type: ignore[attr-defined]
        (100.0, "kWh"), (120000.0, "kWh"), (5.0, "mg/L")
    ]  # fmt: skip


def test_an_unknown_or_missing_unit_fails_its_record_naming_the_unit_field() -> None:
    rows = [
        {"meter": "M1", "at": "2026-10-01 08:00:00", "v": 1, "u": "bananas"},
        {"meter": "M2", "at": "2026-10-01 08:00:00", "v": 1},
        {"meter": "M3", "at": "2026-10-01 08:00:00", "v": 1, "u": "kWh"},
    ]
    result = _parse("measurement", {**READING, "value": {"path": "v", "unit_at": "u"}}, rows)
    assert len(result.records) == 1
    assert [(e.record, e.field) for e in result.errors] == [("s#0", "u"), ("s#1", "u")]
    assert "未知单位" in result.errors[0].reason and "缺少单位" in result.errors[1].reason


def test_monthly_figures_in_wan_yuan_and_a_period_in_vendor_form() -> None:
    fields = {
        "credit_code": "uscc",
        "period": {"path": "month", "time": "%Y%m"},
        "revenue_yuan": {"path": "revenue", "unit": "万元"},
        "electricity_kwh": {"path": "power", "unit": "万kWh"},
        "employees": "staff",
    }
    rows = [{"uscc": GOOD, "month": "202610", "revenue": 12.5, "power": 0.3, "staff": 20}]
    [record] = _parse("enterprise_monthly", fields, rows).records
    assert record.document() == {
        "park_id": "p1", "credit_code": GOOD, "period": "2026-10", "revenue_yuan": 125000.0,
        "employees": 20, "electricity_kwh": 3000.0,
    }  # fmt: skip


def test_times_are_read_in_the_vendors_zone_or_their_own() -> None:
    fields = {**READING, "ts": {"path": "at", "tz": "Asia/Urumqi"}}
    rows = [
        {"meter": "M1", "at": "2026-10-01 08:00:00"},  # Urumqi: UTC+6
        {"meter": "M2", "at": "2026-10-01T08:00:00+08:00"},  # its own offset wins
    ]
    result = _parse("measurement", fields, rows)
    assert [r.document()["ts"] for r in result.records] == [
        "2026-10-01T02:00:00Z", "2026-10-01T00:00:00Z"
    ]  # fmt: skip
    beijing = _parse("measurement", READING, [{"meter": "M1", "at": "2026-10-01 08:00:00"}])
    assert beijing.records[0].document()["ts"] == "2026-10-01T00:00:00Z"  # the spec's default
    epoch = _parse("measurement", {**READING, "ts": {"path": "at", "time": "epoch_ms"}},
                   [{"meter": "M1", "at": 1790000000000}])  # fmt: skip
    assert epoch.records[0].document()["ts"] == "2026-09-21T14:13:20Z"


def test_a_time_that_does_not_match_fails_its_record_alone() -> None:
    fields = {**READING, "ts": {"path": "at", "time": "%Y-%m-%d %H:%M:%S"}}
    rows = [{"meter": "M1", "at": "2026/10/01"}, {"meter": "M2", "at": "2026-10-01 08:00:00"}]
    result = _parse("measurement", fields, rows)
    assert len(result.records) == 1
    [error] = result.errors
    assert (error.source, error.record, error.field) == ("acme-lc", "s#0", "at")
    assert "'2026/10/01' does not match %Y-%m-%d %H:%M:%S" in error.reason
    numbers = _parse("measurement", READING, [{"meter": "M1", "at": 1790000000000}])
    assert "give the field time: epoch_ms or epoch_s" in numbers.errors[0].reason


def test_ids_are_the_sources_own() -> None:
    fields = {"event_id": "id", "event_kind": {"const": "alarm"}, "ts": "at", "device_id": "dev"}
    [event] = _parse("event", fields, [{"id": 7, "at": "2026-10-01 08:00:00", "dev": "D1"}]).records
    assert (event.key, event.document()["device_id"]) == ("acme-lc:7", "acme-lc:D1")


def test_credit_codes_are_checked_a_bad_check_digit_warns_a_malformed_one_fails() -> None:
    fields = {**READING, "credit_code": "uscc"}
    at = "2026-10-01 08:00:00"
    rows = [
        {"meter": "M1", "at": at, "uscc": GOOD.lower()},
        {"meter": "M2", "at": at, "uscc": BAD_CHECK},
        {"meter": "M3", "at": at, "uscc": "12345"},
    ]
    result = _parse("measurement", fields, rows)
    assert [r.document()["credit_code"] for r in result.records] == [GOOD, BAD_CHECK]
    [warning] = result.warnings
    assert warning.record == "s#1" and "uscc: 统一社会信用代码校验位不符" in warning.reason
    [error] = result.errors
    assert (error.record, error.field) == ("s#2", "uscc") and "格式错误" in error.reason


def test_an_enterprise_warns_once_about_its_check_digit() -> None:
    fields = {"credit_code": "uscc", "name": "name"}
    result = _parse("enterprise", fields, [{"uscc": BAD_CHECK, "name": "温州某公司"}])
    assert len(result.records) == 1 and len(result.warnings) == 1
    assert result.warnings[0].record == f"s#{BAD_CHECK}"  # named by its key


def test_maps_defaults_and_constants() -> None:
    fields = {
        "event_id": "id",
        "event_kind": {"path": "type", "map": {"smoke": "fire_alarm"}, "default": "alarm"},
        "ts": "at",
        "severity": {"path": "level", "map": {"1": "info", "3": "critical"}},
        "status": {"path": "closed", "map": {"true": "closed", "false": "open"}},
    }
    at = "2026-10-01 08:00:00"
    rows = [
        {"id": 1, "type": "smoke", "at": at, "level": 3, "closed": True},
        {"id": 2, "type": "water", "at": at, "level": 1, "closed": False},
        {"id": 3, "type": "smoke", "at": at, "level": 2},
    ]
    result = _parse("event", fields, rows)
    docs = [r.document() for r in result.records]
    assert [(d["event_kind"], d["severity"], d["status"]) for d in docs] == [
        ("fire_alarm", "critical", "closed"), ("alarm", "info", "open")
    ]  # fmt: skip
    [error] = result.errors
    assert (error.record, error.field) == ("s#3", "level")
    assert "no entry for 2" in error.reason


def test_a_canonical_check_failing_names_the_vendor_field() -> None:
    fields = {**READING, "value": "v", "device_id": "meter"}
    result = _parse("measurement", fields, [{"meter": "M" * 200, "at": "2026-10-01 08:00:00"}])
    [error] = result.errors
    assert error.field == "meter" and "at most 128 characters" in error.reason


def test_a_page_without_its_list_is_one_error_and_a_record_that_is_no_object_fails_alone() -> None:
    config = RestConfig.model_validate(
        {"spec": {"name": "acme", "records": "rows", "streams": {"s": {
            "path": "/s", "kind": "measurement", "fields": READING}}},
         "base_url": "http://127.0.0.1:9"}
    )  # fmt: skip
    adapter = RestAdapter(SourceContext("acme-lc", "p1"), config)
    broken = adapter.parse_message(RawMessage("acme-lc", "s", b'{"rows": {"a": 1}}'))
    assert [(e.record, e.field) for e in broken.errors] == [("s#page", "rows")]
    mixed = adapter.parse_message(
        RawMessage("acme-lc", "s", b'{"rows": [7, {"meter": "M1", "at": "2026-10-01 08:00:00"}]}')
    )
    assert len(mixed.records) == 1 and mixed.errors[0].record == "s#0"
