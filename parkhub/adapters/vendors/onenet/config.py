"""What a OneNET source is configured with: push token and keys, API credentials, what to pull."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from parkhub.adapters.vendors.iot import IotConfig, http_url
from parkhub.secrets import Secret


class OneNetPullTarget(BaseModel):
    """One device whose history is pulled, and which of its keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device: str = Field(min_length=1, description="old platform: device id; Studio: deviceName")
    keys: list[str] = Field(
        min_length=1, description="old platform: datastream ids; Studio: property identifiers"
    )
    product_id: str | None = Field(None, description="Studio: overrides the source's product_id")


class OneNetConfig(IotConfig):
    """A OneNET account (old platform) or Studio project feeding one park."""

    token: Secret | None = Field(None, description="push token entered in the OneNET console")
    aes_key: Secret | None = Field(
        None,
        description="push AES key: old platform EncodingAESKey (43 chars) or Studio secure-mode "
        "key (16 chars)",
    )
    push_max_age_s: float | None = Field(
        10800,
        gt=0,
        description="Studio: refuse pushes whose `time` is older than this; the default covers "
        "OneNET's 2 h 45 min of retries. null turns the check off",
    )
    api_base: str = Field("https://api.heclouds.com", description="old platform API base URL")
    api_key: Secret | None = Field(None, description="old platform APIKey (api-key header)")
    studio_base: str = Field("https://openapi.heclouds.com", description="Studio API base URL")
    access_key: Secret | None = Field(None, description="Studio access key (base64)")
    token_res: str | None = Field(None, description="Studio token res, e.g. userid/511932")
    token_version: str = "2020-05-29"
    token_method: Literal["md5", "sha1", "sha256"] = "sha1"
    token_ttl_s: int = Field(3600, ge=60, le=86400 * 30)
    project_id: str | None = Field(None, description="Studio project id")
    product_id: str | None = Field(None, description="Studio product id")
    datapoints: list[OneNetPullTarget] = Field(
        default_factory=list, description="old platform devices to pull (stream datapoints)"
    )
    property_history: list[OneNetPullTarget] = Field(
        default_factory=list, description="Studio devices to pull (stream property_history)"
    )
    page_size: int = Field(100, ge=1, le=6000, description="Studio caps it at 100")

    _url = field_validator("api_base", "studio_base")(http_url)

    @field_validator("aes_key")
    @classmethod
    def _aes(cls, value: Any) -> Any:
        key = value.get_secret_value() if value is not None else None
        if key is None or len(key) == 16:
            return value
        if len(key) == 43:
            try:
                if len(base64.b64decode(key + "=", validate=True)) == 32:
                    return value
            except binascii.Error:
                pass
        raise ValueError(
            "aes_key 应为 43 位 EncodingAESKey 或 16 位 Studio 密钥 "
            "(aes_key must be a 43-char EncodingAESKey or a 16-char Studio key)"
        )

    @model_validator(mode="after")
    def _pull_needs(self) -> OneNetConfig:
        if self.datapoints and self.api_key is None:
            raise ValueError("拉取 datapoints 需配置 api_key (datapoints needs api_key)")
        if self.property_history:
            missing = self.missing(("access_key", "token_res", "project_id"), self.property_history)
            if missing:
                raise ValueError(
                    f"拉取 property_history 缺少配置 (property_history needs {', '.join(missing)})"
                )
        return self
