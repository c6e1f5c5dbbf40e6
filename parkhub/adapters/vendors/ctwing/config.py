"""What a CTWing source is configured with: the push token, the application's keys, the
devices to pull and how transparent products' payloads decode."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, field_validator, model_validator

from parkhub.adapters.vendors.iot import IotConfig, http_url
from parkhub.secrets import Secret

from .appdata import AppDataSpec


class CtwingPullTarget(BaseModel):
    """One device whose status history is pulled."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(min_length=1, description="CTWing deviceId")
    product_id: str | None = Field(None, description="overrides the source's product_id")


class CtwingConfig(IotConfig):
    """A CTWing application (AppKey) feeding one park."""

    push_token: Secret | None = Field(
        None, description="secret carried as ?token= in the subscription URL (required for push)"
    )
    allow_ips: list[IPvAnyNetwork] = Field(
        default_factory=list, description="if set, pushes only from these CIDRs"
    )
    api_base: str = Field("https://ag-api.ctwing.cn", description="AEP API gateway")
    app_key: str | None = Field(None, description="application AppKey")
    app_secret: Secret | None = Field(None, description="application AppSecret")
    product_id: str | None = None
    devices: list[CtwingPullTarget] = Field(
        default_factory=list, description="devices to pull (stream device_status)"
    )
    page_size: int = Field(100, ge=1, le=1000)
    appdata: dict[str, AppDataSpec] = Field(
        default_factory=dict, description="APPdata decoder per productId"
    )

    _url = field_validator("api_base")(http_url)

    @model_validator(mode="after")
    def _pull_needs(self) -> CtwingConfig:
        if self.devices:
            missing = self.missing(("app_key", "app_secret"), self.devices)
            if missing:
                raise ValueError(f"拉取 device_status 缺少配置 (pull needs {', '.join(missing)})")
        return self
