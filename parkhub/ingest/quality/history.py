"""What the figure rules compare a page's records with, read in bulk once per page: the
enterprises' own monthly history, their roster entries, metered electricity, and the norms of
their industry in the park."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from parkhub.canonical import Record
from parkhub.canonical.timeutil import month_bounds, periods_to, previous_period
from parkhub.policies import QualityRules
from parkhub.store import Store

METERED_PERIODS = ("day", "hour", "month")
"""Consumption readings summed into a month, the first kind a meter has being used."""


@dataclass
class FigureHistory:
    """Stored figures around a page's records (and the page's own, laid over them)."""

    monthly: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`<credit code>|<period>` -> enterprise_monthly document."""
    roster: dict[str, dict[str, Any]] = field(default_factory=dict)
    """credit code -> enterprise document."""
    metered: dict[tuple[str, str], float] = field(default_factory=dict)
    """(credit code, period) -> metered electricity (kWh)."""
    peers: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    """(industry division, period) -> output value per kWh of the park's enterprises."""

    def month(self, code: str, period: str) -> dict[str, Any] | None:
        return self.monthly.get(f"{code}|{period}")

    def series(self, code: str, periods: Iterable[str], name: str) -> list[float]:
        """The values of one figure over `periods` (those given)."""
        out = []
        for p in periods:
            doc = self.month(code, p)
            if doc is not None and doc.get(name) is not None:
                out.append(float(doc[name]))
        return out

    def intensity(self, code: str, period: str, doc: dict[str, Any]) -> float | None:
        """Output value per kWh of one month: metered electricity, else the declared."""
        kwh = self.metered.get((code, period)) or doc.get("electricity_kwh")
        out = doc.get("output_value_yuan")
        return float(out) / float(kwh) if out and kwh else None


def load_history(
    store: Store, park_id: str, records: Sequence[Record], rules: QualityRules
) -> FigureHistory:
    """Everything the enabled rules need for these records: one query per table, not per
    record."""
    h = FigureHistory()
    lookback = max(13, rules.missing_month.lookback + 1)
    keys: set[str] = set()
    codes: set[str] = set()
    periods: set[str] = set()
    for rec in records:
        doc = rec.document()
        code = doc.get("credit_code")
        if code is None:
            continue
        codes.add(code)
        if rec.kind == "enterprise_monthly":
            periods.add(doc["period"])
            keys.update(f"{code}|{p}" for p in periods_to(doc["period"], lookback)[:-1])
        elif rec.kind == "enterprise":
            keys.update(f"{code}|{p}" for p in periods_to(previous_period(), 12))
        elif rec.kind == "enterprise_annual":
            keys.update(f"{code}|{p}" for p in periods_to(f"{doc['year']}-12", 12))
    h.monthly = store.records.docs_of("enterprise_monthly", keys)
    for rec in records:  # the page's own months are history for its later ones
        if rec.kind == "enterprise_monthly":
            h.monthly[rec.key] = rec.document()
    if rules.scale.enabled or rules.intensity.enabled:
        h.roster = store.records.docs_of("enterprise", codes)
    if rules.intensity.enabled and periods:
        _load_intensity(store, park_id, sorted(periods), h)
    return h


def _load_intensity(store: Store, park_id: str, periods: list[str], h: FigureHistory) -> None:
    """Metered electricity per enterprise and month, and the park's norms per industry."""
    industry = {
        e["credit_code"]: (e.get("industry_code") or "")[:2]
        for e in store.records.iter_docs("enterprise", park_id=park_id)
    }
    for period in periods:
        start, end = month_bounds(period)
        by_kind: dict[tuple[str, str], float] = {}
        for m in store.records.docs_between("measurement", park_id=park_id, start=start, end=end):
            code = m.get("credit_code")
            if code and m.get("metric") == "electricity" and m.get("period") in METERED_PERIODS:
                series = (code, m["period"])
                by_kind[series] = by_kind.get(series, 0.0) + float(m.get("value") or 0.0)
        for code in {c for c, _ in by_kind}:
            for kind in METERED_PERIODS:
                if (code, kind) in by_kind:
                    h.metered[(code, period)] = by_kind[(code, kind)]
                    break
        docs = {
            d["credit_code"]: d
            for d in store.records.iter_docs(
                "enterprise_monthly", park_id=park_id, key_suffix=f"|{period}"
            )
        }
        docs.update({k.partition("|")[0]: d for k, d in h.monthly.items() if k.endswith(period)})
        for code, doc in docs.items():
            ratio = h.intensity(code, period, doc)
            division = industry.get(code)
            if ratio is not None and division:
                h.peers.setdefault((division, period), []).append(ratio)


def median(values: Sequence[float]) -> float | None:
    positive = [v for v in values if v > 0]
    return statistics.median(positive) if positive else None
