"""HTTP helpers shared by platforms: one place that maps HTTP outcomes to transient/permanent."""

from __future__ import annotations

from typing import Any

import httpx

from parkhub.canonical import jsonutil
from parkhub.errors import PermanentDeliveryError, TransientDeliveryError


def post_json(
    client: httpx.Client,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    platform: str,
) -> httpx.Response:
    """POST; connection problems and timeouts become TransientDeliveryError."""
    try:
        return client.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.TimeoutException as exc:
        raise TransientDeliveryError(f"{platform}: 超时 (timeout: {type(exc).__name__})") from None
    except httpx.TransportError as exc:
        raise TransientDeliveryError(f"{platform}: 连接失败 (connection failed: {exc})") from None


def classify_http(response: httpx.Response, platform: str) -> None:
    """5xx, 429 and 408 are transient; any other non-2xx is permanent."""
    status = response.status_code
    if 200 <= status < 300:
        return
    snippet = response.text[:300]
    message = f"{platform}: HTTP {status}: {snippet}"
    if status >= 500 or status in (408, 425, 429):
        raise TransientDeliveryError(message, code=str(status))
    raise PermanentDeliveryError(message, code=str(status))


def json_answer(response: httpx.Response, platform: str) -> dict[str, Any]:
    """Classify the HTTP status, then the body must be a JSON object (else transient: a proxy
    or gateway page in front of the platform)."""
    classify_http(response, platform)
    try:
        answer = jsonutil.loads(response.content)
    except jsonutil.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        raise TransientDeliveryError(
            f"{platform}: 应答不是JSON对象 (response is not a JSON object: {response.text[:200]!r})"
        )
    return answer
