"""The one place for JSON (orjson), and the content hash of what is stored."""

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


def bytes_hash(data: bytes) -> str:
    """The content hash of a stored document or message: 32 hex digits of BLAKE2b."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
