"""The report page's twelve months of trends: revenue and tax, electricity, enterprises and
the 亩均 figures, one point per period (None where no report was built), in 万元 and 万千瓦时."""

from __future__ import annotations

from parkhub.canonical import jsonutil
from parkhub.hub import Hub
from parkhub.reports.monthly_view import periods_before, trends
from tests.helpers import PERIOD


def test_periods_before_cross_the_year() -> None:
    assert periods_before("2026-02", 3) == ["2025-12", "2026-01", "2026-02"]


def test_trends_have_twelve_months_of_each_figure(hub: Hub) -> None:
    hub.sync()
    hub.build_reports(PERIOD)
    out = trends(hub.store, "wz-lc-0001", PERIOD)
    assert len(out["periods"]) == 12 and out["periods"][-1] == PERIOD
    assert out["built"] == [False] * 11 + [True]
    fields = {s["field"]: s for chart in out["charts"] for s in chart["series"]}
    for field in ("revenue_yuan", "tax_yuan", "electricity_kwh", "enterprise_count",
                  "tax_per_mu_yuan", "revenue_per_mu_yuan"):  # fmt: skip
        assert field in fields, field
        assert fields[field]["data"][:11] == [None] * 11  # no report built: no point
    row = hub.store.records.get("park_monthly", f"wz-lc-0001|{PERIOD}")
    assert row is not None
    doc = jsonutil.loads(row["doc"])
    assert fields["revenue_yuan"]["data"][-1] == round(doc["revenue_yuan"] / 1e4, 4)  # 万元
    assert fields["enterprise_count"]["data"][-1] == doc["enterprise_count"] == 12
    assert any("亩均" in chart["title"] for chart in out["charts"])
