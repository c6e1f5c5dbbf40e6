"""What the pages and the API show, read through the store's parts: the parks overview, a park's
dashboard, delivery listings and details, inbox problems, the monthly entry listing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from parkhub.canonical import jsonutil
from parkhub.canonical.timeutil import utcnow
from parkhub.config import ParkConfig, subscriptions
from parkhub.hub import Hub
from parkhub.ingest.entry import MONTHLY
from parkhub.reports.calendar import OVERDUE
from parkhub.reports.devices import device_health
from parkhub.reports.enterprise_view import park_sources as sources_of
from parkhub.store import PROBLEMS, DeliveryFilter, DeliveryStatus, operator_summary

from .forms import form_values


def jsonable(value: Any) -> Any:
    """Datetimes as ISO text, all the way down: for the JSON API."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def parse_json_text(text: str | None) -> Any:
    """Stored JSON text parsed; text that is not JSON as it is."""
    if not text:
        return None
    try:
        return jsonutil.loads(text)
    except jsonutil.JSONDecodeError:
        return text


# -- deliveries -------------------------------------------------------------------------------


def deliveries(
    hub: Hub,
    park_ids: Sequence[str],
    *,
    status: Sequence[str] | None = None,
    platform: str | None = None,
    error: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Deliveries of these parks, newest first, as listings show them (no payload)."""
    where = DeliveryFilter(
        status=status, platform=platform or None, park_ids=park_ids, error_contains=error or None
    )
    return hub.store.outbox.deliveries(where, limit=limit, brief=True)


def delivery_detail(row: Mapping[str, Any]) -> dict[str, Any]:
    """A delivery for display and the API: payload and receipt parsed when they are JSON."""
    out = {k: v for k, v in row.items() if k not in ("lease_owner", "lease_until")}
    out["payload"] = parse_json_text(row.get("payload"))
    out["receipt"] = parse_json_text(row.get("receipt"))
    return out


RECEIPT_LABELS = {
    "receipt_id": "回执号",
    "duplicate": "平台认定为重复报送",
    "received_at": "平台接收时间",
}


def labelled(payload: Any, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """A payload as rows of (Chinese label, field, value), in the mapping spec's order, then
    the fields the spec does not name; a payload that is no object gives no rows."""
    if not isinstance(payload, dict):
        return []
    order = [k for k in labels if k in payload] + [k for k in payload if k not in labels]
    return [{"label": labels.get(k, k), "field": k, "value": payload[k]} for k in order]


def receipt_rows(receipt: Any) -> list[dict[str, Any]]:
    """A stored receipt as labelled rows: its id, duplicate flag and time, then what the
    platform answered (`detail`), field by field."""
    if not isinstance(receipt, dict):
        return []
    rows = [
        {"label": label, "field": k, "value": receipt[k]}
        for k, label in RECEIPT_LABELS.items()
        if k in receipt
    ]
    detail = receipt.get("detail")
    if isinstance(detail, dict):
        rows += [{"label": f"应答 {k}", "field": k, "value": v} for k, v in detail.items()]
    return rows


def park_platforms(hub: Hub, park_id: str) -> dict[str, list[str]]:
    """Platforms (enabled) taking reports from this park, with those reports."""
    out: dict[str, list[str]] = {}
    for s in subscriptions(hub.config):
        pc, sub = s.platform, s.subscription
        if sub.parks and park_id not in sub.parks:
            continue
        out.setdefault(pc.name, []).append(sub.report)
    return out


def platform_choices(hub: Hub, park_id: str) -> list[str]:
    """The platforms a park's delivery listing filters by: routed, or holding deliveries."""
    return sorted(
        set(park_platforms(hub, park_id)) | set(hub.store.outbox.status_counts(park_id=park_id))
    )


# -- overview and dashboard -------------------------------------------------------------------


def park_summaries(hub: Hub, parks: Sequence[ParkConfig]) -> list[dict[str, Any]]:
    """Per park, its deliveries sent, failed (to retry) and dead."""
    by_park = hub.store.outbox.status_counts_by_park()  # one scan for every park
    out = []
    for park in parks:
        counts = by_park.get(park.id, {}).values()
        out.append(
            {
                "park": park,
                **{
                    str(s): sum(c.get(s, 0) for c in counts)
                    for s in (DeliveryStatus.DEAD, DeliveryStatus.FAILED, DeliveryStatus.SENT)
                },
            }
        )
    return out


def park_sources(hub: Hub, park_id: str) -> list[str]:
    """The park's configured sources and its operator entry."""
    return sources_of(hub.config, park_id)


def inbox_problems(hub: Hub, park_id: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """The park's newest rejected and partly rejected messages and files."""
    rows = hub.store.inbox.messages(
        sources=park_sources(hub, park_id),
        statuses=PROBLEMS,
        newest_first=True,
        limit=limit,
        with_body=False,
    )
    out = []
    for row in rows:
        meta = parse_json_text(row["meta"])
        out.append(
            {
                "raw_id": row["id"],
                "source": row["source"],
                "stream": row["stream"],
                "status": row["status"],
                "reason": row["reason"],
                "received_at": row["received_at"],
                "filename": meta.get("filename") if isinstance(meta, dict) else None,
            }
        )
    return out


def park_dashboard(hub: Hub, park_id: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the dashboard shows for one park (JSON-able but for datetimes)."""
    park = hub.config.park(park_id)
    store = hub.store
    counts = store.outbox.status_counts(park_id=park_id)
    routed = park_platforms(hub, park_id)
    last = store.outbox.last_sent(park_id)
    platforms = [
        {
            "name": name,
            "reports": routed.get(name, []),
            "counts": operator_summary(counts.get(name, {})),
            "last_sent": last.get(name),
        }
        for name in [*routed, *sorted(set(counts) - set(routed))]
    ]
    calendar = [e.as_dict() for e in hub.calendar(park_id=park_id, now=now)]
    return {
        "park": {"id": park.id, "name": park.name, "division_code": park.division_code},
        "platforms": platforms,
        "failures": deliveries(
            hub, [park_id], status=[DeliveryStatus.DEAD, DeliveryStatus.FAILED], limit=20
        ),
        "calendar": calendar,
        "attention": [e for e in calendar if e["state"] in OVERDUE],
        "inbox_problems": inbox_problems(hub, park_id),
        "devices": device_health(store, [s.name for s in hub.config.sources if s.park == park_id]),
        "records": store.records.counts(park_id=park_id),
        "generated_at": utcnow(),
    }


# -- monthly entry ----------------------------------------------------------------------------


def park_doc(hub: Hub, park_id: str, kind: str, key: str) -> dict[str, Any] | None:
    """A stored record's document, if the record is this park's."""
    record = hub.store.records.get(kind, key)
    if record is None or record["park_id"] != park_id:
        return None
    doc: dict[str, Any] = jsonutil.loads(record["doc"])
    return doc


def enterprise_name(hub: Hub, park_id: str, credit_code: str) -> str:
    """The park's enterprise's name ("" if it is not on the park's roster)."""
    doc = park_doc(hub, park_id, "enterprise", credit_code) if credit_code else None
    return str(doc.get("name", "")) if doc else ""


def entry_rows(hub: Hub, park_id: str, period: str) -> list[dict[str, Any]]:
    """The park's enterprises with their figures of the period (in the form's units), and the
    figures of enterprises not on the roster after them."""
    records = hub.store.records
    enterprises = records.docs("enterprise", park_id=park_id)
    filled = {
        d["credit_code"]: d
        for d in records.iter_docs(MONTHLY, park_id=park_id, key_suffix=f"|{period}")
    }
    rows = [
        {
            "credit_code": ent["credit_code"],
            "name": ent.get("name", ""),
            "status": ent.get("status", "active"),
            "filled": ent["credit_code"] in filled,
            "values": form_values(filled.get(ent["credit_code"])),
        }
        for ent in enterprises
    ]
    known = {ent["credit_code"] for ent in enterprises}
    rows += [
        {
            "credit_code": code,
            "name": "（名录外企业 not in the roster）",
            "status": "active",
            "filled": True,
            "values": form_values(doc),
        }
        for code, doc in sorted(filled.items())
        if code not in known
    ]
    return rows
