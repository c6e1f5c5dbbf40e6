"""Each rule on enterprise figures catches the mistake it is for, on SQLite and PostgreSQL: a
`hold` keeps the record out of every outbox (stored only as held), `warn` and `info` let it
pass with the finding shown."""

from __future__ import annotations

from parkhub.canonical import EnterpriseAnnual, Measurement
from parkhub.canonical.timeutil import parse_local, periods_to, previous_period
from parkhub.sandbox.data import credit_code
from parkhub.store import HoldStatus
from tests.ingest.support import CODE, OTHER, PARK, Park, config, enterprise, make_park, monthly


def _rules(result: object) -> list[tuple[str, str, str]]:
    return [(f.rule, f.severity, f.field) for f in result.findings]  # type: ignore[attr-defined]


def test_a_value_out_of_range_is_held_out_of_every_outbox_and_kept(park: Park) -> None:
    """1e15 typed into a 万元 column: never delivered, not lost."""
    rec = monthly(CODE, "2026-10", revenue_yuan=1e19, output_value_yuan=3e6)
    result = park.feed([rec])
    assert result.held == 1 and result.new == 0 and result.deliveries == 0
    assert ("range", "hold", "revenue_yuan") in _rules(result)
    assert park.doc("enterprise_monthly", rec.key) is None
    assert park.deliveries("enterprise_monthly", rec.key) == []
    [hold] = park.store.reviews.holds(park_ids=[PARK])
    assert hold["status"] == HoldStatus.WAITING and hold["key"] == rec.key
    assert '"revenue_yuan":1e+19' in hold["doc"] and hold["raw_id"] == result.raw_id
    assert park.store.inbox.messages(ids=[result.raw_id], statuses=("parsed",))


def test_yuan_typed_into_a_wan_yuan_column_is_held_against_its_own_history(park: Park) -> None:
    park.history(CODE, "2026-09", 12, revenue_yuan=300_000.0, output_value_yuan=320_000.0)
    result = park.feed([monthly(CODE, "2026-10", revenue_yuan=3e9, output_value_yuan=3.1e9)])
    assert result.held == 1
    assert {("unit_mistake", "hold", "revenue_yuan"), ("unit_mistake", "hold",
            "output_value_yuan")} <= set(_rules(result))  # fmt: skip
    assert not any(r == "jump" for r, _, _ in _rules(result))  # one finding per mistake
    assert "一万倍" in result.findings[0].message


def test_one_figure_ten_thousand_times_the_others_is_a_unit_mistake(park: Park) -> None:
    """No history yet: the record's other money figures are the yardstick."""
    rec = monthly(CODE, "2026-10", revenue_yuan=3.2e9, output_value_yuan=3.1e5, tax_yuan=1e4)
    result = park.feed([rec])
    assert _rules(result) == [("unit_mistake", "hold", "revenue_yuan")]


def test_a_jump_against_last_month_warns_and_passes(park: Park) -> None:
    park.history(CODE, "2026-09", 3, revenue_yuan=1_000_000.0)
    rec = monthly(CODE, "2026-10", revenue_yuan=15_000_000.0)
    result = park.feed([rec])
    assert _rules(result) == [("jump", "warn", "revenue_yuan")]
    assert result.new == 1 and result.deliveries == 1 and result.held == 0
    [stored] = park.store.reviews.findings(park_ids=[PARK])
    assert stored["severity"] == "warn" and stored["hold_id"] is None
    assert "15.0" in stored["message"] and "上月" in stored["message"]


def test_a_jump_against_the_same_month_last_year(park: Park) -> None:
    park.history(CODE, "2025-10", 1, tax_yuan=2_000_000.0)
    park.history(CODE, "2026-09", 1, tax_yuan=150_000.0)
    result = park.feed([monthly(CODE, "2026-10", tax_yuan=150_000.0)])
    assert _rules(result) == [("jump", "warn", "tax_yuan")]
    assert "去年同月" in result.findings[0].message


def test_small_swings_of_a_small_firm_are_not_findings(park: Park) -> None:
    park.history(CODE, "2026-09", 12, revenue_yuan=50_000.0, tax_yuan=2_000.0)
    result = park.feed([monthly(CODE, "2026-10", revenue_yuan=900_000.0, tax_yuan=30_000.0)])
    assert result.findings == []


def test_tax_greater_than_revenue_warns(park: Park) -> None:
    result = park.feed([monthly(CODE, "2026-10", revenue_yuan=100_000.0, tax_yuan=120_000.0)])
    assert _rules(result) == [("tax_revenue", "warn", "tax_yuan")]
    annual = EnterpriseAnnual(
        park_id=PARK, credit_code=CODE, year=2025, revenue_yuan=1e6, tax_yuan=2e6
    )
    assert ("tax_revenue", "warn", "tax_yuan") in _rules(park.feed([annual]))


def test_a_month_missing_in_the_series_is_info(park: Park) -> None:
    park.history(CODE, "2026-08", 3, revenue_yuan=1e6)
    result = park.feed([monthly(CODE, "2026-10", revenue_yuan=1e6)])
    assert _rules(result) == [("missing_month", "info", "")]
    assert "2026-09" in result.findings[0].message
    assert park.feed([monthly(OTHER, "2026-10", revenue_yuan=1e6)]).findings == []  # new firm


def test_above_scale_status_against_a_years_revenue(park: Park) -> None:
    months = periods_to(previous_period(), 12)
    park.history(CODE, months[-1], 12, revenue_yuan=500_000.0)  # 600 万元 a year
    result = park.feed([enterprise(CODE, above_scale=True)])
    assert _rules(result) == [("scale", "warn", "above_scale")]
    assert "低于 2000 万元" in result.findings[0].message
    park.feed([enterprise(OTHER, above_scale=False)])
    annual = EnterpriseAnnual(park_id=PARK, credit_code=OTHER, year=2025, revenue_yuan=5e7)
    result = park.feed([annual])
    assert _rules(result) == [("scale", "warn", "above_scale")]
    assert "已超过 2000 万元" in result.findings[0].message


def test_declared_output_far_from_metered_electricity(park: Park) -> None:
    """Output per kWh 200 times the enterprise's own norm: declared output and the meters
    disagree."""
    park.history(CODE, "2026-09", 6, output_value_yuan=1_000_000.0, electricity_kwh=100_000.0)
    readings = [
        Measurement(
            park_id=PARK,
            device_id="qs:DB-1",
            metric="electricity",
            ts=parse_local(f"2026-10-{d:02d} 00:00:00"),
            period="day",
            value=33.0,
            credit_code=CODE,
            stat="cou",
        )
        for d in range(1, 31)
    ]
    park.feed(readings, source="qisheng-lc")
    result = park.feed([monthly(CODE, "2026-10", output_value_yuan=2_000_000.0)])
    assert _rules(result) == [("intensity", "warn", "output_value_yuan")]
    assert "本企业近12个月" in result.findings[0].message


def test_output_per_kwh_far_from_the_industry_norm(store) -> None:  # type: ignore[no-untyped-def]
    park = make_park(store, config())
    firms = [enterprise(credit_code("330302", 10 + i), industry_code="3823") for i in range(5)]
    park.feed(firms, source="qisheng-lc")  # the roster names their industry
    normal = [
        monthly(f.credit_code, "2026-10", output_value_yuan=2e6, electricity_kwh=1e5)
        for f in firms[:4]
    ]
    park.feed(normal, source="qisheng-lc")
    odd = monthly(firms[4].credit_code, "2026-10", output_value_yuan=2e7, electricity_kwh=5e3)
    result = park.feed([odd])
    assert _rules(result) == [("intensity", "warn", "output_value_yuan")]
    assert "同行业（38）" in result.findings[0].message


def test_severity_and_switches_are_set_per_park_in_config(store) -> None:  # type: ignore[no-untyped-def]
    cfg = config(
        quality={
            "rules": {"tax_revenue": {"severity": "info"}, "missing_month": {"enabled": False}},
            "parks": {PARK: {"jump": {"severity": "hold", "ratio": 3}}},
        }
    )
    park = make_park(store, cfg)
    park.history(CODE, "2026-08", 1, revenue_yuan=1_000_000.0)
    rec = monthly(CODE, "2026-10", revenue_yuan=5e5, tax_yuan=6e5)
    assert _rules(park.feed([rec])) == [("tax_revenue", "info", "tax_yuan")]
    park.history(CODE, "2026-10", 1, revenue_yuan=1_000_000.0)
    result = park.feed([monthly(CODE, "2026-11", revenue_yuan=4_500_000.0)])
    assert _rules(result) == [("jump", "hold", "revenue_yuan")] and result.held == 1


def test_quality_rules_off_lets_everything_pass(store) -> None:  # type: ignore[no-untyped-def]
    park = make_park(store, config(quality={"enabled": False}))
    result = park.feed([monthly(CODE, "2026-10", revenue_yuan=1e19)])
    assert result.new == 1 and result.findings == [] and result.held == 0
