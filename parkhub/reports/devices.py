"""Devices that connect to parkhub (HJ 212 data loggers), as the raw inbox saw them: per
source and device the last frame, the frames read with warnings (what tolerant reading forgave)
and the last warning, the frames refused and why, the last heartbeat.

Read from what listeners keep with each message (`ListenerMessage.meta`: device, warnings,
heartbeat), over the newest messages only, so it costs the same however long parkhub runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from parkhub.canonical import jsonutil
from parkhub.store import RawStatus, Store

RECENT = 2000
"""How many of the newest messages the overview reads (per call, all sources together)."""


def device_health(
    store: Store, sources: Sequence[str], *, limit: int = RECENT
) -> list[dict[str, Any]]:
    """One row per (source, device) seen among the newest `limit` messages of `sources`:
    last_seen, frames, warned (frames read with warnings), last_warning, rejected, last_error,
    last_heartbeat; newest device first."""
    if not sources:
        return []
    rows = store.inbox.messages(
        sources=sources, statuses=list(RawStatus), newest_first=True, limit=limit, with_body=False
    )
    devices: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:  # newest first: the first of each device is its latest
        meta = _meta(row["meta"])
        device = meta.get("device")
        if not isinstance(device, str) or not device:
            continue
        entry = devices.get((row["source"], device))
        if entry is None:
            entry = devices[(row["source"], device)] = {
                "source": row["source"],
                "device": device,
                "last_seen": row["received_at"],
                "frames": 0,
                "warned": 0,
                "last_warning": None,
                "rejected": 0,
                "last_error": None,
                "last_heartbeat": None,
            }
        _count(entry, row, meta)
    return sorted(devices.values(), key=lambda e: e["last_seen"], reverse=True)


def _count(entry: dict[str, Any], row: dict[str, Any], meta: dict[str, Any]) -> None:
    entry["frames"] += 1
    warnings = meta.get("warnings")
    if isinstance(warnings, list) and warnings:
        entry["warned"] += 1
        if entry["last_warning"] is None:
            entry["last_warning"] = "; ".join(str(w) for w in warnings)
    if row["status"] in (RawStatus.REJECTED, RawStatus.PARTIAL):
        entry["rejected"] += 1
        if entry["last_error"] is None:
            entry["last_error"] = row["reason"]
    if meta.get("heartbeat") and entry["last_heartbeat"] is None:
        entry["last_heartbeat"] = row["received_at"]


def _meta(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        meta = jsonutil.loads(text)
    except jsonutil.JSONDecodeError:
        return {}
    return meta if isinstance(meta, dict) else {}
