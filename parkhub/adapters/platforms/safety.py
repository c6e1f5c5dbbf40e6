"""应急管理局 (emergency management / work safety) platform, modelled: hidden dangers and incidents
with their rectification status, near real time, REST JSON signed with HMAC-SHA256.
See docs/platforms/safety.md."""

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
from parkhub.protocols import safety as proto
from parkhub.secrets import Secret

HAZARD_KINDS = ("hidden_danger", "incident")


class SafetyConfig(AdapterConfig):
    base_url: str = Field(
        description="e.g. https://yjglj.example.gov.cn (sandbox: http://127.0.0.1:PORT)"
    )
    api_key: str = Field(min_length=1, description="API Key (key id) issued by the bureau")
    api_secret: Secret = Field(description="API Secret for the HMAC signature: env:NAME")
    timeout_seconds: float = Field(10.0, gt=0)


class SafetyPlatform(Platform[SafetyConfig]):
    """The emergency management bureau: 安全隐患 and 生产安全事故 reports."""

    name: ClassVar[str] = "safety"
    config_model: ClassVar[type[SafetyConfig]] = SafetyConfig
    reports: ClassVar[Mapping[str, ReportSpec]] = {
        "hazards": ReportSpec(
            record_kind="event",
            mapping="safety.hazards.yaml",
            schema="safety/hazards.schema.json",
            priority=10,
            description="安全隐患与事故 (hidden dangers and incidents, with rectification)",
            when={"event_kind": HAZARD_KINDS},
        ),
    }

    def send(self, report: str, payload: Mapping[str, Any], idempotency_key: str) -> Receipt:
        path = proto.PATHS[report]
        body = jsonutil.dumps(payload)
        timestamp = str(int(time.time() * 1000))
        nonce = uuid.uuid4().hex
        secret = self.config.api_secret.get_secret_value()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            proto.KEY_HEADER: self.config.api_key,
            proto.TIMESTAMP_HEADER: timestamp,
            proto.NONCE_HEADER: nonce,
            proto.IDEMPOTENCY_HEADER: idempotency_key,
            proto.SIGNATURE_HEADER: proto.sign(
                secret, "POST", path, timestamp, nonce, idempotency_key, body
            ),
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
        code = answer.get("errcode")
        if code != proto.SUCCESS:
            meaning, transient = proto.BUSINESS_CODES.get(
                code if isinstance(code, int) else -1, ("未知错误 (unknown code)", False)
            )
            message = f"{self.name}: 业务错误 {code} {meaning}: {answer.get('errmsg', '')}"
            error = TransientDeliveryError if transient else PermanentDeliveryError
            raise error(message, code=str(code))
        data = answer.get("data") or {}
        record_id = data.get("recordId")
        if not record_id:
            raise PermanentDeliveryError(
                f"{self.name}: 成功应答缺少登记号 (success without recordId)"
            )
        return Receipt(str(record_id), duplicate=bool(data.get("duplicate")), detail=answer)
