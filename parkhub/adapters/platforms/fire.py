"""消防 (fire) platform, modelled: fire alarms, fire faults and fire devices going offline, in real
time on the priority lane, REST JSON with an API key; the platform answers with an ack id.
See docs/platforms/fire.md."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from parkhub.adapters.common import AdapterConfig
from parkhub.adapters.platforms.base import Platform, Receipt, ReportSpec, json_answer, post_json
from parkhub.canonical import jsonutil
from parkhub.errors import PermanentDeliveryError, TransientDeliveryError
from parkhub.protocols import fire as proto
from parkhub.secrets import Secret

FIRE_DEVICE_TYPES = (
    "smoke_detector",
    "heat_detector",
    "gas_detector",
    "flame_detector",
    "manual_call_point",
    "fire_panel",
    "fire_alarm_controller",
    "sprinkler",
    "hydrant",
    "water_pressure",
    "water_level",
    "electrical_fire",
    "fire_door",
    "fire_extinguisher",
)
"""Device types whose going offline the fire platform wants (`extra.device_type` of the event)."""


class FireConfig(AdapterConfig):
    base_url: str = Field(
        description="e.g. https://xf119.example.gov.cn (sandbox: http://127.0.0.1:PORT)"
    )
    api_key: Secret = Field(description="API Key sent in X-API-Key: env:NAME or file:NAME")
    timeout_seconds: float = Field(5.0, gt=0, description="real time: fail fast and retry")


class FirePlatform(Platform[FireConfig]):
    """The fire department's IoT platform: alarms first (priority 0)."""

    name: ClassVar[str] = "fire"
    config_model: ClassVar[type[FireConfig]] = FireConfig
    reports: ClassVar[Mapping[str, ReportSpec]] = {
        "fire_events": ReportSpec(
            record_kind="event",
            mapping="fire.fire_events.yaml",
            schema="fire/fire_events.schema.json",
            priority=0,
            description="火警、故障与消防设备离线 (fire alarms, faults, fire devices offline)",
            when=(
                {"event_kind": ("fire_alarm", "fire_fault")},
                {"event_kind": ("device_offline",), "extra.device_type": FIRE_DEVICE_TYPES},
            ),
        ),
    }

    def send(self, report: str, payload: Mapping[str, Any], idempotency_key: str) -> Receipt:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            proto.API_KEY_HEADER: self.config.api_key.get_secret_value(),
            proto.REQUEST_ID_HEADER: idempotency_key,
        }
        response = post_json(
            self.http,
            self.config.base_url.rstrip("/") + proto.PATHS[report],
            jsonutil.dumps(payload),
            headers,
            timeout=self.config.timeout_seconds,
            platform=self.name,
        )
        answer = json_answer(response, self.name)
        if answer.get("result") != proto.RESULT_OK:
            code = str(answer.get("errorCode"))
            meaning, transient = proto.ERROR_CODES.get(code, ("未知错误 (unknown code)", False))
            message = f"{self.name}: 业务错误 {code} {meaning}: {answer.get('errorMsg', '')}"
            error = TransientDeliveryError if transient else PermanentDeliveryError
            raise error(message, code=code)
        ack = answer.get("ackId")
        if not ack:
            raise PermanentDeliveryError(f"{self.name}: 成功应答缺少确认号 (ok without ackId)")
        return Receipt(str(ack), duplicate=bool(answer.get("duplicate")), detail=answer)
