"""China Telecom CTWing (AEP) wire protocol: the HMAC-SHA1 request signature.

Standard library only, so the loopback simulator can share it without importing parkhub.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping

__all__ = ["signature", "string_to_sign"]


def string_to_sign(
    app_key: str, timestamp: int | str, params: Mapping[str, str], body: str | bytes | None
) -> bytes:
    """The exact bytes CTWing signs: application, timestamp, sorted params, then the body."""
    parts = [f"application:{app_key}\ntimestamp:{timestamp}\n"]
    parts.extend(f"{key}:{params[key]}\n" for key in sorted(params))
    text = "".join(parts).encode()
    if body:
        text += (body if isinstance(body, bytes) else body.encode()) + b"\n"
    return text


def signature(
    app_key: str,
    app_secret: str,
    timestamp: int | str,
    params: Mapping[str, str],
    body: str | bytes | None,
) -> str:
    """`base64(HmacSHA1(app_secret, string_to_sign))` for the `signature` request header.

    `params` are the query parameters plus `MasterKey` when the API takes one; `body` is the
    request body exactly as sent (None or empty for a GET).

    >>> signature("91Ebv1S0HBb", "FJDq8agNp5", 1600000000000,
    ...     {"MasterKey": "25ce00cc28c1498c833276110ee483f0"},
    ...     '{"deviceName":"testDevice","deviceSn":"","imei":123456789012345,'
    ...     '"operator":"admin","productId":"9392"}')
    'jvtpBUGU+nUOZ2bb5Xjq6Ld2S9k='
    """
    mac = hmac.new(app_secret.encode(), string_to_sign(app_key, timestamp, params, body), "sha1")
    return base64.b64encode(mac.digest()).decode()
