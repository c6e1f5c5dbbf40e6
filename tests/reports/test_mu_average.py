"""The 亩均 evaluation against the published county example (黄岩区 2022): the weights and
benchmarks reproduce scores computed by hand from the formula (docs/mu-average.md, worked
example); every input names its record, revision and source; the result is recomputed from
its exported inputs alone; the park's own figures feed its monthly and annual reports."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import openpyxl
import pytest

from parkhub.canonical import Enterprise, EnterpriseAnnual, EnterpriseMonthly, Measurement
from parkhub.canonical.timeutil import SHANGHAI
from parkhub.config import HubConfig, parse_config
from parkhub.hub import Hub
from parkhub.reports.mu_average import rescore
from parkhub.reports.mu_export import evaluation_xlsx
from parkhub.sandbox.data import credit_code
from parkhub.store import Store

PARK = "hy-1"
ENTRY = f"entry:{PARK}"
A, B, C, D = (credit_code("331003", n) for n in (1, 2, 3, 4))
HAND = {  # worked out by hand from the formula: indicator ÷ benchmark × weight
    "tax_per_mu": 24.8994,  # 600 万元 ÷ 30 亩 = 20; 20 ÷ 24.097 × 30
    "value_added_per_mu": 17.6263,  # 3600 ÷ 30 = 120; 120 ÷ 136.16 × 20
    "value_added_per_energy": 22.2717,  # 3600 ÷ 1200 = 3.0; 3.0 ÷ 2.694 × 20
    "value_added_per_emission": 12.1709,  # 3600 ÷ 0.6 t = 6000; 6000 ÷ 4929.81 × 10
    "labour_productivity": 11.0254,  # 3600 ÷ 180 = 20; 20 ÷ 18.14 × 10
    "rnd_ratio": 9.9338,  # 360 ÷ 12000 = 0.03; 0.03 ÷ 0.0302 × 10
}
HAND_TOTAL = 97.9274
HAND_BELOW = {
    "tax_per_mu": 43.1287,
    "tax_per_kwh": 53.1463,
}  # 10 ÷ 11.5932 × 50; 0.25 ÷ 0.2352 × 50


def config(url: str, **evaluation: object) -> HubConfig:
    park = {"id": PARK, "name": "黄岩示例小微企业园", "division_code": "331003",
            "land_area_m2": 40_000.0, "floor_area_m2": 60_000.0}  # fmt: skip
    return parse_config({"database_url": url, "parks": [park], "evaluation": evaluation})


def annual(code: str, **values: float) -> EnterpriseAnnual:
    return EnterpriseAnnual(park_id=PARK, credit_code=code, year=2022, **values)


def firm(code: str, name: str, above: bool, **values: float) -> Enterprise:
    return Enterprise(park_id=PARK, credit_code=code, name=name, above_scale=above, **values)


def seed(hub: Hub) -> None:
    """A above-scale with its own 30 亩 and a year's record; B below-scale renting 1,500 ㎡
    with monthly figures; C above-scale whose emissions come from its HJ 212 monitor; D
    above-scale without emission data."""
    roster = [
        firm(A, "温州示例电气有限公司", True, land_area_m2=20_000.0),
        firm(B, "温州示例鞋业有限公司", False, floor_area_m2=1_500.0),
        firm(C, "温州示例印染有限公司", True, land_area_m2=20_000.0),
        firm(D, "温州示例机械有限公司", True, land_area_m2=20_000.0),
    ]
    a = dict(tax_yuan=6e6, value_added_yuan=3.6e7, energy_tce=1200.0, emissions_kg=600.0,
             employees=180, rnd_yuan=3.6e6, revenue_yuan=1.2e8)  # fmt: skip
    years = [annual(A, **a), annual(C, **{**a, "emissions_kg": None}),
             annual(D, **{**a, "emissions_kg": None, "tax_yuan": 3e6})]  # fmt: skip
    months = [
        EnterpriseMonthly(
            park_id=PARK,
            credit_code=B,
            period=f"2022-{m:02d}",
            tax_yuan=12_500.0,
            electricity_kwh=50_000.0,
        )
        for m in range(1, 13)
    ]
    cod = [  # C's wastewater monitor: 1,200 kg of COD in the year, as 12 daily totals
        Measurement(
            park_id=PARK,
            device_id="hj212:C-outlet",
            metric="cod",
            stat="cou",
            period="day",
            value=100.0,
            credit_code=C,
            ts=dt.datetime(2022, m, 15, tzinfo=SHANGHAI),
        )
        for m in range(1, 13)
    ]
    for records in (roster, years, months):
        hub.ingest_records(records, source=ENTRY)
    hub.ingest_records(cod, source="hj212-hy")


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = Hub(config(db_url), Store.open(db_url))
    seed(h)
    yield h
    h.close()


def _by_code(results: list) -> dict:  # type: ignore[type-arg]
    return {r.enterprise.credit_code: r for r in results}


def test_scores_reproduce_the_hand_computed_worked_example(hub: Hub) -> None:
    ev = hub.evaluate(PARK, year=2022)
    assert (ev.rule.county, ev.rule.year, ev.note) == ("331003", 2022, None)
    got = _by_code(ev.results)
    a = got[A]
    assert a.group == "above" and a.items == pytest.approx(HAND, abs=5e-5)
    assert a.total == pytest.approx(HAND_TOTAL, abs=5e-5)
    assert a.indicators["tax_per_mu"] == pytest.approx(20.0)
    b = got[B]
    assert b.group == "below" and b.items == pytest.approx(HAND_BELOW, abs=5e-5)
    assert b.total == pytest.approx(96.275, abs=5e-5)
    assert b.enterprise.land_m2.value == pytest.approx(1000.0)  # 40,000 ㎡ × 1,500 / 60,000
    # C's emissions come from its monitor: 1.2 t, so 3600 ÷ 1.2 = 3000 万元/t
    assert got[C].items["value_added_per_emission"] == pytest.approx(3000 / 4929.81 * 10)
    # D has none: the average of the firms that have it
    average = (6000 / 4929.81 * 10 + 3000 / 4929.81 * 10) / 2
    assert got[D].items["value_added_per_emission"] == pytest.approx(average)
    assert "平均分" in got[D].notes[0]
    assert [got[c].rank for c in (A, C, D)] == [1, 2, 3] and got[B].rank == 1
    assert a.grade == "B"  # 80 <= 97.93 < 120 (the placeholder cut-offs)


def test_every_input_names_its_record_revision_and_source(hub: Hub) -> None:
    ev = hub.evaluate(PARK, year=2022)
    got = {e.credit_code: e for e in ev.enterprises}
    tax = got[A].figures["tax_yuan"]
    assert tax.source == "年度数据"
    assert tax.evidence == (f"enterprise_annual#{A}|2022 r1 ({ENTRY})",)
    b_tax = got[B].figures["tax_yuan"]
    assert b_tax.value == 150_000.0 and b_tax.source == "月度数据 12/12 个月合计"
    assert b_tax.evidence[0] == f"enterprise_monthly#{B}|2022-01 r1 ({ENTRY})"
    assert "分摊" in got[B].land_m2.source and len(got[B].land_m2.evidence) == 2
    assert got[C].figures["emissions_kg"].evidence == ("measurement:hj212:C-outlet/cod",)
    hub.ingest_records([annual(A, tax_yuan=6.6e6)], source=ENTRY)  # a corrected figure
    again = hub.evaluate(PARK, year=2022)
    tax = {e.credit_code: e for e in again.enterprises}[A].figures["tax_yuan"]
    assert tax.value == 6.6e6 and tax.evidence == (f"enterprise_annual#{A}|2022 r2 ({ENTRY})",)


def test_a_result_is_recomputed_from_its_exported_inputs_alone(hub: Hub) -> None:
    exported = hub.evaluate(PARK, year=2022).as_dict()
    import orjson

    again = rescore(orjson.loads(orjson.dumps(exported)))  # as the JSON export carries it
    assert [r.as_dict() for r in again] == exported["results"]


def test_the_rolling_twelve_months_and_the_rule_of_another_county(hub: Hub) -> None:
    ev = hub.evaluate(PARK, rolling_to="2022-12")
    got = _by_code(ev.results)
    assert got[B].total == pytest.approx(96.275, abs=5e-5)  # the same 12 months of figures
    assert got[A].group is None and "缺少税收" in got[A].notes[0]  # no monthly figures
    other = hub.evaluate(PARK, year=2025, county="330302")
    assert other.rule.county == "331003" and "330302" in (other.note or "")


def test_a_configured_county_rule_wins_and_below_scale_can_use_revenue(db_url: str) -> None:
    rule = {
        "county": "331003", "county_name": "黄岩区", "year": 2022, "source": "test",
        "above": {"tax_per_mu": {"weight": 100, "benchmark": 10}},
        "below": {"tax_per_mu": {"weight": 60, "benchmark": 10},
                  "revenue_per_mu": {"weight": 40, "benchmark": 100}},
        "below_second": "revenue_per_mu",
        "classes": {"mode": "share", "a": 0.5, "b": 0.5, "c": 0},
    }  # fmt: skip
    hub = Hub(config(db_url, rules=[rule]), Store.open(db_url))
    try:
        seed(hub)
        got = _by_code(hub.evaluate(PARK, year=2022).results)
        assert got[A].items == {"tax_per_mu": pytest.approx(200.0)}  # 20 ÷ 10 × 100
        assert [got[c].grade for c in (A, C, D)] == ["A", "A", "B"]  # shares: 1.5 -> 2 in A
        # B reported no revenue: that item scores 0, and says so
        assert got[B].items == {"tax_per_mu": pytest.approx(60.0), "revenue_per_mu": 0.0}
        assert got[B].notes == ["亩均营业收入缺少数据，得0分"]
        with pytest.raises(ValueError, match="规下企业基准值"):
            hub.evaluate(PARK, year=2022, below="tax_per_kwh")
    finally:
        hub.close()


def test_the_county_style_workbook(hub: Hub) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(evaluation_xlsx(hub.evaluate(PARK, year=2022))))
    assert wb.sheetnames == ["评价结果", "数据来源", "评价规则"]
    ws = wb["评价结果"]
    header = [c.value for c in ws[2]]
    assert header[:5] == ["序号", "企业名称", "统一社会信用代码", "规模", "用地面积(亩)"]
    row = {h: c.value for h, c in zip(header, ws[3], strict=True)}  # first of 规上: A
    assert row["企业名称"] == "温州示例电气有限公司" and row["用地面积(亩)"] == 30
    assert row["亩均税收(万元/亩)"] == 20 and row["总分"] == pytest.approx(97.93)
    assert row["分类"] == "B" and row["排名"] == 1
    sources = [[c.value for c in r] for r in wb["数据来源"].iter_rows(min_row=3)]
    assert [A, "温州示例电气有限公司", "税收(万元)", 6e6, "年度数据",
            f"enterprise_annual#{A}|2022 r1 ({ENTRY})"] in sources  # fmt: skip
    rules = [[c.value for c in r] for r in wb["评价规则"].iter_rows(min_row=3)]
    assert ["规上企业", "亩均税收", 30, 24.097, "万元/亩", None] in rules


def test_the_parks_figures_feed_its_annual_and_monthly_reports(hub: Hub) -> None:
    [(_ev, stored)] = hub.build_annual_reports(2022)
    assert stored.new == 1
    doc = hub.store.records.docs("park_annual")[0]
    # 600 + 600 + 300 + 15 = 1,515 万元 of tax on the park's 60 亩: 25.25 万元/亩 (in yuan)
    assert doc["tax_per_mu_yuan"] == pytest.approx(252_500.0)
    assert doc["emissions_kg"] == 1_800.0 and doc["class_b"] + doc["class_a"] >= 1
    assert doc["rule"] == "黄岩区 2022" and doc["evaluated_count"] == 4
    [(inputs, _)] = hub.build_reports("2022-12")
    monthly = inputs.report
    assert monthly.tax_per_mu_month_yuan == pytest.approx(12_500 / 60, abs=0.01)  # one month
    assert monthly.tax_per_mu_12m_yuan == pytest.approx(150_000 / 60, abs=0.01)  # 12 months


def test_emissions_from_hourly_monitor_totals_a_day_counted_once(hub: Hub) -> None:
    """D's outlet monitor sends hourly totals (2 kg of NOx an hour on 1 March), and for 2 March
    both hours and the day's total: the day's total stands, the hours are not added to it."""

    def total(day: int, hour: int, period: str, kg: float) -> Measurement:
        return Measurement(park_id=PARK, device_id="hj212:D-stack", metric="nox", stat="cou",
                           period=period, value=kg, credit_code=D,
                           ts=dt.datetime(2022, 3, day, hour, tzinfo=SHANGHAI))  # fmt: skip

    hourly = [total(1, h, "hour", 2.0) for h in range(24)]
    both = [total(2, h, "hour", 1.0) for h in range(24)] + [total(2, 0, "day", 30.0)]
    hub.ingest_records(hourly + both, source="hj212-hy")
    d = {e.credit_code: e for e in hub.evaluate(PARK, year=2022).enterprises}[D]
    emitted = d.figures["emissions_kg"]
    assert emitted.value == pytest.approx(48.0 + 30.0) and "HJ 212" in emitted.source
    assert emitted.evidence == ("measurement:hj212:D-stack/nox",)
