"""Wire protocol of the 消防 (fire) platform, modelled: path, API key header, the ack answer and
error codes. Stdlib only, so the sandbox simulator shares it."""

from __future__ import annotations

PATHS = {"fire_events": "/v1/fire/events"}
API_KEY_HEADER = "X-API-Key"
REQUEST_ID_HEADER = "X-Request-Id"

# `{"result": "ok", "ackId": ..., "duplicate": bool}` is success; errors come as
# `{"result": "error", "errorCode": ..., "errorMsg": ...}` inside HTTP 200 (modelled).
RESULT_OK = "ok"
ERROR_CODES: dict[str, tuple[str, bool]] = {
    "E101": ("API Key 无效 (invalid API key)", False),
    "E201": ("数据校验失败 (payload failed validation)", False),
    "E202": ("设备未在消防物联网平台登记 (device not registered)", False),
    "E203": ("联网单位不存在 (unknown unit code)", False),
    "E500": ("系统繁忙 (system busy)", True),
    "E503": ("接入服务维护中 (ingest under maintenance)", True),
}
