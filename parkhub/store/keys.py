"""Idempotency keys: derived from what makes a delivery unique, the same on every database."""

from __future__ import annotations

from hashlib import sha256
from typing import Any

IDEMPOTENCY_KEY_SQL = "ph_idempotency_key"
"""The key as a SQL function on SQLite connections (PostgreSQL computes it with sha256())."""
KEY_COLUMNS = ("record_kind", "record_key", "revision", "platform", "report", "mapping_version")
"""The deliveries' columns the key is derived from, in order."""


def idempotency_key(
    kind: str, key: str, revision: int, platform: str, report: str, mapping_version: str
) -> str:
    """The key every platform gets: record key + revision + platform + mapping version.

    `ph2-` and the first 40 hex digits of SHA-256 over the six values joined by U+001F: the
    same on SQLite (here, also as the SQL function `ph_idempotency_key`) and PostgreSQL
    (computed by the server, in _PG_WRITE). Keys issued before (`ph1-`, BLAKE2b) stay on their
    deliveries: they are what the platforms saw.
    """
    text = f"{kind}\x1f{key}\x1f{revision}\x1f{platform}\x1f{report}\x1f{mapping_version}"
    return "ph2-" + sha256(text.encode()).hexdigest()[:40]


def with_key(row: dict[str, Any]) -> dict[str, Any]:
    """A deliveries row with its idempotency key: SQLite stores it at the first claim, so a row
    still waiting for one gets the key it will be sent with."""
    if row.get("idempotency_key") is None:
        kind, key, revision, platform, report, version = (row[c] for c in KEY_COLUMNS)
        row["idempotency_key"] = idempotency_key(kind, key, revision, platform, report, version)
    return row
