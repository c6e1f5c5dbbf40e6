"""The park monthly report (园区月报) as an operator reads it: this period's figures built now
(a preview, nothing stored or sent), what was built and sent before and to whom, the payload
each platform would get (labelled), twelve months of trends, and the enterprises behind it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parkhub.canonical import jsonutil
from parkhub.canonical.timeutil import SHANGHAI, month_bounds
from parkhub.config import HubConfig, ParkConfig, subscriptions
from parkhub.errors import MappingError
from parkhub.mappings import load_mapping
from parkhub.store import DeliveryFilter, Store

from .names import platform_title, report_title
from .park_monthly import MonthlyInputs, active_in
from .service import HELD_EMPTY, preview

FIGURES: tuple[tuple[str, str, str, float], ...] = (
    # field, label, unit, scale from the stored unit
    ("enterprise_count", "入园企业数", "家", 1.0),
    ("above_scale_count", "规上企业数", "家", 1.0),
    ("reporting_enterprises", "本期有数据的企业", "家", 1.0),
    ("output_value_yuan", "工业总产值", "万元", 1e-4),
    ("revenue_yuan", "营业收入", "万元", 1e-4),
    ("tax_yuan", "税收", "万元", 1e-4),
    ("employees", "从业人员", "人", 1.0),
    ("electricity_kwh", "用电量", "万千瓦时", 1e-4),
    ("tax_per_mu_yuan", "亩均税收", "万元/亩", 1e-4),
    ("revenue_per_mu_yuan", "亩均营业收入", "万元/亩", 1e-4),
    ("occupancy_rate", "入驻率", "%", 100.0),
    ("hidden_dangers", "安全隐患", "起", 1.0),
    ("safety_incidents", "安全事故", "起", 1.0),
    ("fire_alarms", "火警", "起", 1.0),
)
TRENDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("营业收入与税收（万元）", ("revenue_yuan", "tax_yuan")),
    ("用电量（万千瓦时）", ("electricity_kwh",)),
    ("入园企业（家）", ("enterprise_count", "above_scale_count", "reporting_enterprises")),
    ("亩均税收与亩均营业收入（万元/亩）", ("tax_per_mu_yuan", "revenue_per_mu_yuan")),
)
"""The charts of the report page: a title and the figures it draws."""
ENTERPRISE_FIGURES = (
    ("revenue_yuan", "营业收入(万元)", 1e-4),
    ("tax_yuan", "税收(万元)", 1e-4),
    ("output_value_yuan", "工业总产值(万元)", 1e-4),
    ("electricity_kwh", "用电量(万千瓦时)", 1e-4),
    ("employees", "从业人员(人)", 1.0),
)
_LABELS = {f: (label, unit, scale) for f, label, unit, scale in FIGURES}


def scaled(doc: Mapping[str, Any] | None, name: str) -> float | None:
    """A stored figure in the unit operators read (万元, 万千瓦时, %), rounded for display."""
    value = (doc or {}).get(name)
    if value is None:
        return None
    return round(float(value) * _LABELS[name][2], 4)


def periods_before(period: str, count: int) -> list[str]:
    """`count` periods ending with `period`, oldest first."""
    year, month = (int(p) for p in period.split("-"))
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def trends(store: Store, park_id: str, period: str, months: int = 12) -> dict[str, Any]:
    """The stored park reports of the `months` periods ending with `period`: one series per
    figure (None where no report was built), in the units operators read."""
    periods = periods_before(period, months)
    docs = {p: store.records.get("park_monthly", f"{park_id}|{p}") for p in periods}
    parsed = {p: (_doc(row) if row else None) for p, row in docs.items()}
    series = {name: [scaled(parsed[p], name) for p in periods] for name, *_ in FIGURES}
    charts = [
        {
            "title": title,
            "series": [{"name": _LABELS[f][0], "field": f, "data": series[f]} for f in fields],
        }
        for title, fields in TRENDS
    ]
    return {"periods": periods, "charts": charts, "built": [parsed[p] is not None for p in periods]}


def _doc(row: Mapping[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = jsonutil.loads(row["doc"])
    return doc


def figures(now: Mapping[str, Any], stored: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The report's figures as built now beside those stored (sent) before, each labelled."""
    return [
        {
            "field": name,
            "label": label,
            "unit": unit,
            "value": scaled(now, name),
            "stored": scaled(stored, name) if stored is not None else None,
            "changed": stored is not None and scaled(stored, name) != scaled(now, name),
        }
        for name, label, unit, _ in FIGURES
    ]


def payload_previews(
    config: HubConfig, park_id: str, doc: Mapping[str, Any], revision: int
) -> list[dict[str, Any]]:
    """What each platform taking the park report would get now: its fields with their labels."""
    out = []
    for s in subscriptions(config):
        if s.spec.record_kind != "park_monthly" or not s.covers(park_id):
            continue
        name, report = s.platform.name, s.subscription.report
        mapping = load_mapping(s.spec.mapping)
        meta = {"revision": revision, "correction": revision > 1, "key": doc.get("park_id", "")}
        entry: dict[str, Any] = {
            "platform": name,
            "platform_title": platform_title(config, name),
            "report": report,
            "report_title": report_title(config, name, report),
            "rows": [],
            "error": None,
        }
        try:
            payload = mapping.apply({**doc, "_meta": {**meta, "idempotency_key": "preview"}})
        except MappingError as exc:
            entry["error"] = str(exc)
        else:
            labels = mapping.labels()
            entry["rows"] = [
                {"field": k, "label": labels.get(k, k), "value": v} for k, v in payload.items()
            ]
        out.append(entry)
    return out


def enterprise_table(store: Store, park_id: str, period: str) -> list[dict[str, Any]]:
    """The enterprises behind the report: each active one with its figures of the period (in
    万元 etc.), or missing."""
    start, end = month_bounds(period)
    first, last = start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date()
    monthly = {
        d["credit_code"]: d
        for d in store.records.iter_docs(
            "enterprise_monthly", park_id=park_id, key_suffix=f"|{period}"
        )
    }
    rows = []
    for ent in store.records.docs("enterprise", park_id=park_id):
        if not active_in(ent, first, last):
            continue
        doc = monthly.get(ent["credit_code"])
        rows.append(
            {
                "credit_code": ent["credit_code"],
                "name": ent.get("name", ""),
                "above_scale": bool(ent.get("above_scale")),
                "reported": doc is not None,
                "values": {
                    f: (round(doc[f] * scale, 4) if doc and doc.get(f) is not None else None)
                    for f, _, scale in ENTERPRISE_FIGURES
                },
            }
        )
    return rows


def monthly_view(store: Store, config: HubConfig, park: ParkConfig, period: str) -> dict[str, Any]:
    """Everything the report page shows for one park and period."""
    inputs: MonthlyInputs = preview(store, park, period)
    now = inputs.report.document()
    key = f"{park.id}|{period}"
    row = store.records.get("park_monthly", key)
    stored = _doc(row) if row else None
    revision = (row["revision"] if row else 0) + (0 if stored == now else 1)
    sent = store.outbox.deliveries(
        DeliveryFilter(record_kind="park_monthly", record_keys=[key]), brief=True
    )
    return {
        "period": period,
        "figures": figures(now, stored),
        "stored": {"revision": row["revision"], "updated_at": row["updated_at"]} if row else None,
        "up_to_date": stored is not None and _same(stored, now),
        "held": HELD_EMPTY if inputs.report.enterprise_count == 0 else None,
        "missing": inputs.missing,
        "deliveries": [
            {
                **d,
                "platform_title": platform_title(config, d["platform"]),
                "report_title": report_title(config, d["platform"], d["report"]),
            }
            for d in sent
        ],
        "previews": payload_previews(config, park.id, now, max(revision, 1)),
        "trends": trends(store, park.id, period),
        "enterprises": enterprise_table(store, park.id, period),
        "enterprise_columns": [label for _, label, _ in ENTERPRISE_FIGURES],
        "enterprise_fields": [f for f, _, _ in ENTERPRISE_FIGURES],
    }


def _same(stored: Mapping[str, Any], now: Mapping[str, Any]) -> bool:
    return all(stored.get(name) == now.get(name) for name, *_ in FIGURES)
