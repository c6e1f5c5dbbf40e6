"""One enterprise as an operator reads it: its roster entry and its figures month by month,
where each came from (source, revision, the file or message), where it went (platform, time,
receipt), and what a vendor sent for it that was rejected (e.g. "约300" in a number field)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from parkhub.canonical import jsonutil
from parkhub.config import HubConfig
from parkhub.ingest.sources import ENTRY_PREFIX, entry_source
from parkhub.store import PROBLEMS, DeliveryFilter, Store

from .monthly_view import ENTERPRISE_FIGURES
from .names import platform_title, report_title

SOURCE_TITLES = {"parkhub.config": "配置文件", "parkhub.reports": "parkhub 生成"}


def park_sources(config: HubConfig, park_id: str) -> list[str]:
    """The park's configured sources and its operator entry."""
    return [s.name for s in config.sources if s.park == park_id] + [entry_source(park_id)]


def source_title(config: HubConfig, source: str) -> str:
    """A source as operators know it: 人工填报 for operator entry, else vendor and name."""
    if source.startswith(ENTRY_PREFIX):
        return "人工填报"
    found = next((s for s in config.sources if s.name == source), None)
    if found is not None:
        return f"{found.vendor} · {source}"
    return SOURCE_TITLES.get(source, source)


def rejected_values(
    store: Store,
    config: HubConfig,
    park_id: str,
    credit_code: str,
    *,
    period: str | None = None,
) -> list[dict[str, Any]]:
    """What the park's sources sent for this enterprise that was refused and is not fixed yet:
    each with the source, the record, the vendor's field and the reason (the value in it)."""
    rows = store.inbox.messages(
        sources=park_sources(config, park_id),
        statuses=PROBLEMS,
        newest_first=True,
        limit=200,
        with_body=False,
    )
    out = []
    for row in rows:
        for err in jsonutil.loads(row["errors"]) if row["errors"] else []:
            record = str(err.get("record") or "")
            if credit_code not in record and credit_code not in str(err.get("reason") or ""):
                continue
            if period is not None and period not in record:
                continue
            out.append(
                {
                    "raw_id": row["id"],
                    "source": row["source"],
                    "source_title": source_title(config, row["source"]),
                    "received_at": row["received_at"],
                    "record": record,
                    "field": err.get("field"),
                    "reason": err.get("reason"),
                }
            )
    return out


def _origins(store: Store, raw_ids: Iterable[int | None]) -> dict[int, str]:
    """Raw message id -> the file name it came in (for operator entry), where there is one."""
    ids = sorted({i for i in raw_ids if i is not None})
    out = {}
    for row in store.inbox.messages(ids=ids, with_body=False, limit=len(ids) or 1):
        meta = jsonutil.loads(row["meta"]) if row["meta"] else {}
        out[row["id"]] = str(meta.get("filename") or "")
    return out


def _sent_by_record(
    store: Store, config: HubConfig, park_id: str, keys: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    rows = store.outbox.deliveries(
        DeliveryFilter(park_ids=[park_id], record_keys=list(keys)), brief=True, limit=2000
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for d in rows:
        d["platform_title"] = platform_title(config, d["platform"])
        d["report_title"] = report_title(config, d["platform"], d["report"])
        out.setdefault(d["record_key"], []).append(d)
    return out


def _month_row(
    row: Mapping[str, Any], origins: Mapping[int, str], config: HubConfig
) -> dict[str, Any]:
    doc = row["doc"]
    return {
        "period": doc.get("period"),
        "key": row["key"],
        "values": {
            f: (round(doc[f] * scale, 4) if doc.get(f) is not None else None)
            for f, _, scale in ENTERPRISE_FIGURES
        },
        "revision": row["revision"],
        "source": row["source"],
        "source_title": source_title(config, row["source"]),
        "file": origins.get(row["raw_id"], "") if row["raw_id"] is not None else "",
        "raw_id": row["raw_id"],
        "updated_at": row["updated_at"],
    }


def enterprise_view(
    store: Store, config: HubConfig, park_id: str, credit_code: str
) -> dict[str, Any] | None:
    """Everything the enterprise page shows; None when the park has no such enterprise."""
    roster = store.records.rows("enterprise", park_id=park_id, key_prefix=credit_code)
    roster = [r for r in roster if r["key"] == credit_code]
    months = store.records.rows("enterprise_monthly", park_id=park_id, key_prefix=f"{credit_code}|")
    if not roster and not months:
        return None
    months.sort(key=lambda r: r["key"], reverse=True)  # newest period first
    origins = _origins(store, [r["raw_id"] for r in roster + months])
    keys = [r["key"] for r in roster + months]
    sent = _sent_by_record(store, config, park_id, keys)
    entry = roster[0] if roster else None
    return {
        "credit_code": credit_code,
        "name": (entry["doc"].get("name") if entry else "") or "",
        "roster": entry["doc"] if entry else None,
        "roster_origin": _month_row(entry, origins, config) if entry else None,
        "roster_sent": sent.get(credit_code, []),
        "months": [
            {**_month_row(r, origins, config), "sent": sent.get(r["key"], [])} for r in months
        ],
        "columns": [label for _, label, _ in ENTERPRISE_FIGURES],
        "fields": [f for f, _, _ in ENTERPRISE_FIGURES],
        "rejected": rejected_values(store, config, park_id, credit_code),
    }


def enterprise_list(store: Store, park_id: str) -> list[dict[str, Any]]:
    """The park's enterprises by name, with how many months of figures each has."""
    counts: dict[str, int] = {}
    for doc in store.records.iter_docs("enterprise_monthly", park_id=park_id):
        counts[doc["credit_code"]] = counts.get(doc["credit_code"], 0) + 1
    out = [
        {
            "credit_code": e["credit_code"],
            "name": e.get("name", ""),
            "status": e.get("status", "active"),
            "above_scale": bool(e.get("above_scale")),
            "months": counts.pop(e["credit_code"], 0),
        }
        for e in store.records.docs("enterprise", park_id=park_id)
    ]
    out.sort(key=lambda e: e["name"])
    out += [
        {"credit_code": c, "name": "", "status": "", "above_scale": False, "months": n}
        for c, n in sorted(counts.items())
    ]
    return out


def enterprise_names(store: Store, park_ids: Iterable[str]) -> dict[str, str]:
    """Credit code -> name, over the rosters of these parks."""
    return {
        e["credit_code"]: e.get("name", "")
        for park in park_ids
        for e in store.records.docs("enterprise", park_id=park)
    }
