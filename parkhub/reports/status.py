"""What an operator sees first (`parkhub status`, /api/status): per platform what was sent,
what waits and what failed; the raw messages with problems; the devices that connect (data
loggers: warnings, refusals, heartbeats); the calendar and what is late."""

from __future__ import annotations

import datetime as dt
from typing import Any

from parkhub.canonical.timeutil import utcnow
from parkhub.config import HubConfig
from parkhub.store import Store, operator_summary

from .calendar import OVERDUE
from .devices import device_health
from .service import Reports


def status(store: Store, config: HubConfig, reports: Reports) -> dict[str, Any]:
    counts = store.outbox.status_counts()
    # configured platforms first; ones removed from config still show while they have rows
    names = [pc.name for pc in config.platforms] + sorted(counts)
    platforms = {name: operator_summary(counts.get(name, {})) for name in dict.fromkeys(names)}
    problems = store.inbox.messages(limit=50)
    calendar = [e.as_dict() for e in reports.calendar()]
    return {
        "platforms": platforms,
        "records": store.records.counts(),
        "inbox_problems": [
            {
                "raw_id": r["id"],
                "source": r["source"],
                "stream": r["stream"],
                "status": r["status"],
                "reason": r["reason"],
            }
            for r in problems
        ],
        "devices": [
            {**d, "last_seen": _iso(d["last_seen"]), "last_heartbeat": _iso(d["last_heartbeat"])}
            for d in device_health(store, [sc.name for sc in config.sources])
        ],
        "calendar": calendar,
        "late": [e for e in calendar if e["state"] in OVERDUE],
        "quality": quality(store),
        "generated_at": utcnow().isoformat(),
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


QUALITY_DAYS = 7


def quality(store: Store) -> dict[str, Any]:
    """What the quality rules found (the last week, by severity), the records held for a
    reviewer, and the records whose sources disagree."""
    since = utcnow() - dt.timedelta(days=QUALITY_DAYS)
    waiting = store.reviews.holds(limit=50)
    return {
        "days": QUALITY_DAYS,
        "counts": store.reviews.counts(since=since),
        "held": [
            {
                "hold_id": h["id"],
                "park": h["park_id"],
                "kind": h["kind"],
                "key": h["key"],
                "source": h["source"],
                "held_at": h["created_at"].isoformat(),
                "findings": [f["message"] for f in h["findings"]],
            }
            for h in waiting
        ],
        "findings": [
            {
                "park": f["park_id"],
                "severity": f["severity"],
                "rule": f["rule"],
                "record": f"{f['kind']}#{f['key']}",
                "message": f["message"],
                "at": f["created_at"].isoformat(),
            }
            for f in store.reviews.findings(severities=("warn", "hold"), limit=20)
        ],
        "conflicts": len(store.provenance.conflicts(limit=1000)),
    }
