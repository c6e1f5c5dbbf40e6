"""The idempotency key: one rule, derived from what makes a delivery unique, the same on every
database.

`ph2-` and the first 40 hex digits of SHA-256 over the six values of KEY_COLUMNS joined by
U+001F. Python computes it here (also as the SQL function `ph_idempotency_key` on SQLite
connections); PostgreSQL computes it in the ingest statement with `pg_expression`, built from
the same constants. Keys issued before (`ph1-`, BLAKE2b) stay on their deliveries: they are what
the platforms saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256
from typing import Any

PREFIX = "ph2-"
SEPARATOR = "\x1f"
DIGITS = 40
KEY_COLUMNS = ("record_kind", "record_key", "revision", "platform", "report", "mapping_version")
"""The deliveries' columns the key is derived from, in order."""
IDEMPOTENCY_KEY_SQL = "ph_idempotency_key"
"""The key as a SQL function on SQLite connections."""


def idempotency_key(
    kind: str, key: str, revision: int, platform: str, report: str, mapping_version: str
) -> str:
    """The key every platform gets: record key + revision + platform + mapping version."""
    text = SEPARATOR.join((kind, key, str(revision), platform, report, mapping_version))
    return PREFIX + sha256(text.encode()).hexdigest()[:DIGITS]


def pg_expression(values: Sequence[str]) -> str:
    """The same key as a PostgreSQL expression over six SQL expressions (KEY_COLUMNS order)."""
    joined = f"concat_ws(chr({ord(SEPARATOR)}), {', '.join(values)})"
    digest = f"encode(sha256(convert_to({joined}, 'UTF8')), 'hex')"
    return f"'{PREFIX}' || left({digest}, {DIGITS})"


def with_key(row: dict[str, Any]) -> dict[str, Any]:
    """A deliveries row with its idempotency key: SQLite stores it at the first claim, so a row
    still waiting for one gets the key it will be sent with."""
    if row.get("idempotency_key") is None:
        kind, key, revision, platform, report, version = (row[c] for c in KEY_COLUMNS)
        row["idempotency_key"] = idempotency_key(kind, key, revision, platform, report, version)
    return row
