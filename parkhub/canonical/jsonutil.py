"""The one place for JSON (orjson): compact, sorted where a hash depends on it."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

JSONDecodeError = orjson.JSONDecodeError


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    return orjson.loads(data)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def dumps_str(value: Any) -> str:
    return dumps(value).decode()


def canonical_bytes(value: Any) -> bytes:
    """Deterministic bytes for hashing: sorted keys, compact."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def content_hash(value: Any) -> str:
    """A stable hex digest of a JSON-able value (used for idempotency and change detection)."""
    return hashlib.blake2b(canonical_bytes(value), digest_size=16).hexdigest()


def bytes_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()
