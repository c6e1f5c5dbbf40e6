"""浙江省小微企业园数字化管理平台 (the provincial small-micro park SaaS sub-platform), modelled.

JSON over HTTPS, every request signed (appKey, timestamp, nonce, HMAC-SHA256 sign); business
error codes inside HTTP 200 are errors. See docs/platforms/provincial.md.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from parkhub.adapters.common import AdapterConfig
from parkhub.adapters.platforms.base import Platform, Receipt, ReportSpec, json_answer, post_json
from parkhub.canonical import jsonutil
from parkhub.errors import PermanentDeliveryError, TransientDeliveryError
from parkhub.protocols import provincial as proto
from parkhub.secrets import Secret


class ProvincialConfig(AdapterConfig):
    base_url: str = Field(
        description="e.g. https://xwqy.jxt.zj.gov.cn (sandbox: http://127.0.0.1:PORT)"
    )
    app_key: str = Field(min_length=1, description="appKey issued by the platform")
    app_secret: Secret = Field(description="appSecret: env:NAME or file:NAME")
    timeout_seconds: float = Field(10.0, gt=0)


class ProvincialPlatform(Platform[ProvincialConfig]):
    """The provincial platform: park monthly report and enterprise roster."""

    name: ClassVar[str] = "provincial"
    config_model: ClassVar[type[ProvincialConfig]] = ProvincialConfig
    reports: ClassVar[Mapping[str, ReportSpec]] = {
        "park_monthly": ReportSpec(
            record_kind="park_monthly",
            mapping="provincial.park_monthly.yaml",
            schema="provincial/park_monthly.schema.json",
            description="园区月度运行数据 (park monthly report)",
        ),
        "enterprise_roster": ReportSpec(
            record_kind="enterprise",
            mapping="provincial.enterprise.yaml",
            schema="provincial/enterprise.schema.json",
            description="入园企业名录 (enterprise roster)",
        ),
    }
    paths: ClassVar[Mapping[str, str]] = {
        "park_monthly": "/openapi/v1/park/monthly-report",
        "enterprise_roster": "/openapi/v1/park/enterprises",
    }

    def send(self, report: str, payload: Mapping[str, Any], idempotency_key: str) -> Receipt:
        path = self.paths[report]
        body = jsonutil.dumps(payload)
        timestamp = str(int(time.time() * 1000))
        nonce = uuid.uuid4().hex
        secret = self.config.app_secret.get_secret_value()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "appKey": self.config.app_key,
            "timestamp": timestamp,
            "nonce": nonce,
            "sign": proto.sign(secret, self.config.app_key, timestamp, nonce, "POST", path, body),
            proto.REQUEST_ID_HEADER: idempotency_key,
        }
        response = post_json(
            self.http,
            self.config.base_url.rstrip("/") + path,
            body,
            headers,
            timeout=self.config.timeout_seconds,
            platform=self.name,
        )
        answer = json_answer(response, self.name)
        code = str(answer.get("code"))
        if code != proto.SUCCESS:
            meaning, transient = proto.BUSINESS_CODES.get(code, ("未知错误 (unknown code)", False))
            message = f"{self.name}: 业务错误 {code} {meaning}: {answer.get('message', '')}"
            error = TransientDeliveryError if transient else PermanentDeliveryError
            raise error(message, code=code)
        data = answer.get("data") or {}
        receipt_id = data.get("receiptNo")
        if not receipt_id:
            raise PermanentDeliveryError(
                f"{self.name}: 成功应答缺少回执号 (success without receiptNo)"
            )
        return Receipt(str(receipt_id), duplicate=bool(data.get("duplicate")), detail=answer)
