"""浙江省小微企业园数字化管理平台 (the provincial small-micro park SaaS sub-platform), modelled.

JSON over HTTPS, every request signed (appKey, timestamp, nonce, HMAC-SHA256 sign); business
error codes inside HTTP 200 are errors. See docs/platforms/provincial.md.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import ClassVar

from pydantic import Field

from parkhub.adapters.platforms.base import AnswerSpec, JsonApiConfig, JsonApiPlatform, ReportSpec
from parkhub.protocols import provincial as proto
from parkhub.secrets import Secret


class ProvincialConfig(JsonApiConfig):
    base_url: str = Field(
        description="e.g. https://xwqy.jxt.zj.gov.cn (sandbox: http://127.0.0.1:PORT)"
    )
    app_key: str = Field(min_length=1, description="appKey issued by the platform")
    app_secret: Secret = Field(description="appSecret: env:NAME or file:NAME")


class ProvincialPlatform(JsonApiPlatform[ProvincialConfig]):
    """The provincial platform: park monthly report and enterprise roster."""

    name: ClassVar[str] = "provincial"
    title: ClassVar[str] = "省小微园平台"
    config_model: ClassVar[type[ProvincialConfig]] = ProvincialConfig
    reports: ClassVar[Mapping[str, ReportSpec]] = {
        "park_monthly": ReportSpec(
            record_kind="park_monthly",
            mapping="provincial.park_monthly.yaml",
            schema="provincial/park_monthly.schema.json",
            title="园区月报",
            description="园区月度运行数据 (park monthly report)",
        ),
        "enterprise_roster": ReportSpec(
            record_kind="enterprise",
            mapping="provincial.enterprise.yaml",
            schema="provincial/enterprise.schema.json",
            title="入园企业名录",
            description="入园企业名录 (enterprise roster)",
        ),
    }
    paths: ClassVar[Mapping[str, str]] = proto.PATHS
    answers: ClassVar[AnswerSpec] = AnswerSpec(
        proto.BUSINESS_CODES, success=proto.SUCCESS, receipt_at="data.receiptNo"
    )

    def headers(self, path: str, body: bytes, idempotency_key: str) -> dict[str, str]:
        app_key, secret = self.config.app_key, self.config.app_secret.get_secret_value()
        timestamp = str(int(time.time() * 1000))
        nonce = uuid.uuid4().hex
        sign = proto.sign(secret, app_key, timestamp, nonce, "POST", path, body)
        signed = dict(zip(proto.SIGNED_HEADERS, (app_key, timestamp, nonce, sign), strict=True))
        return {**signed, proto.REQUEST_ID_HEADER: idempotency_key}
