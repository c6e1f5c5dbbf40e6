"""Idempotency keys: derived from what makes a delivery unique, the same on every database."""

from __future__ import annotations

from hashlib import sha256

IDEMPOTENCY_KEY_SQL = "ph_idempotency_key"
"""The key as a SQL function on SQLite connections (PostgreSQL computes it with sha256())."""


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
