"""China Mobile OneNET wire protocol: push signatures, API tokens, raw `msg` extraction.

Standard library only, so the loopback simulator can share it without importing parkhub.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterator
from urllib.parse import quote

__all__ = ["api_token", "check_push_signature", "push_signature", "raw_member"]

_DIGESTS = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256}

# A JSON string (escapes unrolled for speed) or one structural character.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]:,]', re.S)
_OPEN = frozenset(b"{[")
_CLOSE = frozenset(b"}]")
_QUOTE, _COLON = 0x22, 0x3A


def push_signature(token: str, nonce: str, msg: str | bytes) -> str:
    """`base64(md5(token + nonce + msg))`, the signature OneNET puts on every push.

    `msg` is the text exactly as received (bytes are used as they are, str as UTF-8).

    >>> push_signature("abcdefghijkmlnopqrstuvwxyz", "abcdefgh",
    ...     '{"type":1,"dev_id":2016617,"ds_id":"datastream_id","at":1466133706841,"value":42}')
    'FroU5qg+JQK2SGRPSC+T9A=='
    """
    raw = msg if isinstance(msg, bytes) else msg.encode()
    digest = hashlib.md5(token.encode() + nonce.encode() + raw).digest()
    return base64.b64encode(digest).decode()


def check_push_signature(token: str, nonce: str, msg: str | bytes, signature: str) -> bool:
    """Compare a received signature with the expected one in constant time.

    Tolerates what transports do to base64: `+` turned into a space by form decoding, and
    `=` padding stripped (the official PHP SDK compares without it).
    """
    expected = push_signature(token, nonce, msg).rstrip("=")
    got = signature.strip().replace(" ", "+").rstrip("=")
    return hmac.compare_digest(expected.encode(), got.encode())


def api_token(
    access_key: str, res: str, et: int, method: str = "sha1", version: str = "2022-05-01"
) -> str:
    """The `Authorization` header value for the OneNET OpenAPI (Studio and the 2022+ platform).

    >>> api_token("720e323b10d54d3a8cdbe5dd4e641052", "userid/511932", 1770000000)
    'version=2022-05-01&res=userid%2F511932&et=1770000000&method=sha1&sign=xRvkt1q2HU7quic8C8xb28%2BdrQ4%3D'
    """
    digest = _DIGESTS.get(method)
    if digest is None:
        raise ValueError(f"unknown token method {method!r}: use md5, sha1 or sha256")
    text = f"{et}\n{method}\n{res}\n{version}".encode()
    sign = base64.b64encode(hmac.new(base64.b64decode(access_key), text, digest).digest())
    return (
        f"version={version}&res={quote(res, safe='')}&et={et}&method={method}"
        f"&sign={quote(sign.decode(), safe='')}"
    )


def raw_member(body: bytes, key: str) -> bytes | None:
    """The raw text of top-level member `key` of the JSON object in `body`, as it appears.

    OneNET signs the `msg` value as it sent it; re-serialising the parsed value can change
    spacing, escapes and number formatting, so the signature must be checked on this slice.
    Returns None if `body` has no such member. Assumes `body` is valid JSON (parse it first).
    """
    want = b'"' + key.encode() + b'"'
    depth = 0
    last_string: bytes | None = None
    tokens = _TOKEN.finditer(body)
    for match in tokens:
        tok = match.group()
        first = tok[0]
        if first == _QUOTE:
            last_string = tok if depth == 1 else None
            continue
        if first in _OPEN:
            depth += 1
        elif first in _CLOSE:
            depth -= 1
        elif first == _COLON and depth == 1 and last_string == want:
            return _value_after(body, match.end(), tokens)
        last_string = None
    return None


def _value_after(body: bytes, pos: int, tokens: Iterator[re.Match[bytes]]) -> bytes | None:
    size = len(body)
    while pos < size and body[pos] in b" \t\r\n":
        pos += 1
    if pos >= size:
        return None
    first = body[pos]
    depth = 0
    for it in tokens:
        tok = it.group()
        lead = tok[0]
        if first == _QUOTE:
            return tok if lead == _QUOTE else None
        if first in _OPEN:
            if lead in _OPEN:
                depth += 1
            elif lead in _CLOSE:
                depth -= 1
                if depth == 0:
                    return body[pos : it.end()]
        elif lead != _QUOTE:  # a number, true/false/null: ends at the next , or }
            return body[pos : it.start()].rstrip()
    return None
