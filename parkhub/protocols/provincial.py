"""Wire protocol of the provincial platform (modelled): paths, request signing, business codes.

Stdlib only, so the sandbox simulator shares it without importing the rest of parkhub.
"""

from __future__ import annotations

import hashlib
import hmac

PATHS = {
    "park_monthly": "/openapi/v1/park/monthly-report",
    "enterprise_roster": "/openapi/v1/park/enterprises",
}
SIGNED_HEADERS = ("appKey", "timestamp", "nonce", "sign")
REQUEST_ID_HEADER = "X-Request-Id"
MAX_SKEW_MS = 300_000

# Business codes inside HTTP 200 (modelled). Transient ones are worth retrying later.
SUCCESS = "0"
BUSINESS_CODES: dict[str, tuple[str, bool]] = {
    "0": ("成功 (success)", False),
    "1001": ("签名无效 (signature invalid)", False),
    "1002": ("时间戳超出允许范围 (timestamp outside the allowed window)", False),
    "1003": ("重复的 nonce (nonce replayed)", True),
    "1004": ("appKey 不存在 (unknown appKey)", False),
    "2001": ("数据校验失败 (payload failed validation)", False),
    "2002": ("园区编码不存在 (unknown park code)", False),
    "5000": ("系统繁忙 (system busy)", True),
    "5003": ("请求过于频繁 (rate limited)", True),
}


def string_to_sign(
    app_key: str, timestamp: str, nonce: str, method: str, path: str, body: bytes
) -> str:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((app_key, timestamp, nonce, method.upper(), path, digest))


def sign(
    app_secret: str, app_key: str, timestamp: str, nonce: str, method: str, path: str, body: bytes
) -> str:
    """Hex HMAC-SHA256 of the string to sign, keyed with the app secret."""
    message = string_to_sign(app_key, timestamp, nonce, method, path, body).encode()
    return hmac.new(app_secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    app_secret: str,
    app_key: str,
    timestamp: str,
    nonce: str,
    method: str,
    path: str,
    body: bytes,
    signature: str,
) -> bool:
    expected = sign(app_secret, app_key, timestamp, nonce, method, path, body)
    return hmac.compare_digest(expected, signature.lower())
