"""Wire protocol of the 经信 (economy & information bureau) platform, modelled: paths, headers,
the token exchange and the business codes. Stdlib only, so the sandbox simulator shares it."""

from __future__ import annotations

TOKEN_PATH = "/auth/token"
PATHS = {
    "enterprise_monthly": "/api/v1/enterprise/monthly",
    "park_monthly": "/api/v1/park/monthly",
}
IDEMPOTENCY_HEADER = "X-Idempotency-Key"
DEFAULT_TOKEN_TTL = 7200  # seconds, as `expiresIn` in the token answer

# Business codes inside HTTP 200 (modelled). Transient ones are worth retrying later.
SUCCESS = "0"
TOKEN_INVALID = "40101"
BAD_CLIENT = "40001"
BUSINESS_CODES: dict[str, tuple[str, bool]] = {
    "0": ("成功 (success)", False),
    "40001": ("clientId 或 clientSecret 错误 (bad client credentials: check them)", False),
    "40101": ("令牌无效或已过期 (token invalid or expired)", True),
    "40301": ("无权报送该园区 (client may not report for this park)", False),
    "42201": ("数据校验失败 (payload failed validation)", False),
    "42202": ("企业不在园区名录中 (enterprise not in the park roster)", False),
    "42203": ("统计期已关闭 (reporting period closed)", False),
    "50001": ("系统繁忙 (system busy)", True),
    "50002": ("请求过于频繁 (rate limited)", True),
}


def token_request(client_id: str, client_secret: str) -> dict[str, str]:
    return {"clientId": client_id, "clientSecret": client_secret}


def bearer(token: str) -> str:
    return f"Bearer {token}"


def token_from_header(value: str | None) -> str | None:
    if not value or not value.startswith("Bearer "):
        return None
    return value.removeprefix("Bearer ").strip() or None
