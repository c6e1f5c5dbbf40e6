"""Wire protocol of the 统计 (statistics bureau) upload sandbox, modelled: the portal has no API,
so the workbook is written to a folder and, optionally, uploaded as multipart to this endpoint.
Stdlib only, so the sandbox simulator shares it."""

from __future__ import annotations

UPLOAD_PATH = "/upload"  # the sandbox endpoint: upload_url is http://127.0.0.1:PORT/upload
FILE_FIELD = "file"
PARK_FIELD = "parkCode"
PERIOD_FIELD = "statPeriod"
IDEMPOTENCY_HEADER = "X-Idempotency-Key"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# `{"code": 0, "msg": "ok", "data": {"receiptNo": ..., "duplicate": bool}}` is success.
SUCCESS = 0
BUSINESS_CODES: dict[int, tuple[str, bool]] = {
    0: ("成功 (success)", False),
    1001: ("上传凭证无效 (upload token invalid)", False),
    2001: ("文件格式错误 (not a valid xlsx workbook)", False),
    2002: ("报表期别已关闭 (period closed)", False),
    5001: ("系统繁忙 (system busy)", True),
}
