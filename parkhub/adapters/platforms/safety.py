"""应急管理局 (emergency management / work safety) platform, modelled: hidden dangers and incidents
with their rectification status, near real time, REST JSON signed with HMAC-SHA256.
See docs/platforms/safety.md."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import ClassVar

from pydantic import Field

from parkhub.adapters.platforms.base import AnswerSpec, JsonApiConfig, JsonApiPlatform, ReportSpec
from parkhub.protocols import safety as proto
from parkhub.secrets import Secret

HAZARD_KINDS = ("hidden_danger", "incident")


class SafetyConfig(JsonApiConfig):
    base_url: str = Field(
        description="e.g. https://yjglj.example.gov.cn (sandbox: http://127.0.0.1:PORT)"
    )
    api_key: str = Field(min_length=1, description="API Key (key id) issued by the bureau")
    api_secret: Secret = Field(description="API Secret for the HMAC signature: env:NAME")


class SafetyPlatform(JsonApiPlatform[SafetyConfig]):
    """The emergency management bureau: 安全隐患 and 生产安全事故 reports."""

    name: ClassVar[str] = "safety"
    title: ClassVar[str] = "应急管理"
    config_model: ClassVar[type[SafetyConfig]] = SafetyConfig
    reports: ClassVar[Mapping[str, ReportSpec]] = {
        "hazards": ReportSpec(
            record_kind="event",
            mapping="safety.hazards.yaml",
            schema="safety/hazards.schema.json",
            priority=10,
            title="隐患与事故",
            description="安全隐患与事故 (hidden dangers and incidents, with rectification)",
            when={"event_kind": HAZARD_KINDS},
        ),
    }
    paths: ClassVar[Mapping[str, str]] = proto.PATHS
    answers: ClassVar[AnswerSpec] = AnswerSpec(
        proto.BUSINESS_CODES,
        success=proto.SUCCESS,
        code_at="errcode",
        message_at="errmsg",
        receipt_at="data.recordId",
    )

    def headers(self, path: str, body: bytes, idempotency_key: str) -> dict[str, str]:
        timestamp = str(int(time.time() * 1000))
        nonce = uuid.uuid4().hex
        secret = self.config.api_secret.get_secret_value()
        return {
            proto.KEY_HEADER: self.config.api_key,
            proto.TIMESTAMP_HEADER: timestamp,
            proto.NONCE_HEADER: nonce,
            proto.IDEMPOTENCY_HEADER: idempotency_key,
            proto.SIGNATURE_HEADER: proto.sign(
                secret, "POST", path, timestamp, nonce, idempotency_key, body
            ),
        }
