"""Wire protocol of the 应急管理 (emergency management) platform, modelled: path, HMAC request
signing and business codes. Stdlib only, so the sandbox simulator shares it."""

from __future__ import annotations

import base64
import hashlib
import hmac

PATHS = {"hazards": "/api/v2/park/hazards"}
KEY_HEADER = "X-Api-Key"
TIMESTAMP_HEADER = "X-Timestamp"
NONCE_HEADER = "X-Nonce"
SIGNATURE_HEADER = "X-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_SKEW_MS = 300_000

# Business codes (`errcode`) inside HTTP 200 (modelled). Transient ones are worth retrying later.
SUCCESS = 0
BUSINESS_CODES: dict[int, tuple[str, bool]] = {
    0: ("成功 (success)", False),
    10001: ("签名无效 (signature invalid)", False),
    10002: ("时间戳超出允许范围 (timestamp outside the allowed window)", False),
    10003: ("重复的 nonce (nonce replayed)", True),
    10004: ("API Key 不存在或已停用 (unknown or disabled API key)", False),
    20001: ("数据校验失败 (payload failed validation)", False),
    20002: ("企业不在属地监管名录中 (enterprise not under this authority)", False),
    20003: ("园区编码不存在 (unknown park code)", False),
    30001: ("系统繁忙 (system busy)", True),
    30002: ("请求过于频繁 (rate limited)", True),
}


def string_to_sign(
    method: str, path: str, timestamp: str, nonce: str, idempotency_key: str, body: bytes
) -> str:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((method.upper(), path, timestamp, nonce, idempotency_key, digest))


def sign(
    secret: str,
    method: str,
    path: str,
    timestamp: str,
    nonce: str,
    idempotency_key: str,
    body: bytes,
) -> str:
    """Base64 HMAC-SHA256 of the string to sign, keyed with the API secret."""
    message = string_to_sign(method, path, timestamp, nonce, idempotency_key, body).encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def verify(
    secret: str,
    method: str,
    path: str,
    timestamp: str,
    nonce: str,
    idempotency_key: str,
    body: bytes,
    signature: str,
) -> bool:
    expected = sign(secret, method, path, timestamp, nonce, idempotency_key, body)
    return hmac.compare_digest(expected, signature)
