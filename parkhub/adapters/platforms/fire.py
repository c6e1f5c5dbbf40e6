"""消防 (fire) platform, modelled: fire alarms, fire faults and fire devices going offline, in real
time on the priority lane, REST JSON with an API key; the platform answers with an ack id.
See docs/platforms/fire.md."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import Field

from parkhub.adapters.platforms.base import AnswerSpec, JsonApiConfig, JsonApiPlatform, ReportSpec
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


class FireConfig(JsonApiConfig):
    base_url: str = Field(
        description="e.g. https://xf119.example.gov.cn (sandbox: http://127.0.0.1:PORT)"
    )
    api_key: Secret = Field(description="API Key sent in X-API-Key: env:NAME or file:NAME")
    timeout_seconds: float = Field(5.0, gt=0, description="real time: fail fast and retry")


class FirePlatform(JsonApiPlatform[FireConfig]):
    """The fire department's IoT platform: alarms first (priority 0)."""

    name: ClassVar[str] = "fire"
    title: ClassVar[str] = "消防"
    config_model: ClassVar[type[FireConfig]] = FireConfig
    reports: ClassVar[Mapping[str, ReportSpec]] = {
        "fire_events": ReportSpec(
            record_kind="event",
            mapping="fire.fire_events.yaml",
            schema="fire/fire_events.schema.json",
            priority=0,
            title="火警与故障",
            description="火警、故障与消防设备离线 (fire alarms, faults, fire devices offline)",
            when=(
                {"event_kind": ("fire_alarm", "fire_fault")},
                {"event_kind": ("device_offline",), "extra.device_type": FIRE_DEVICE_TYPES},
            ),
        ),
    }
    paths: ClassVar[Mapping[str, str]] = proto.PATHS
    answers: ClassVar[AnswerSpec] = AnswerSpec(
        proto.ERROR_CODES,
        success=proto.RESULT_OK,
        success_at="result",
        code_at="errorCode",
        message_at="errorMsg",
        receipt_at="ackId",
        duplicate_at="duplicate",
    )

    def headers(self, path: str, body: bytes, idempotency_key: str) -> dict[str, str]:
        return {
            proto.API_KEY_HEADER: self.config.api_key.get_secret_value(),
            proto.REQUEST_ID_HEADER: idempotency_key,
        }
