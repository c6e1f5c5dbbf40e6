"""经信局 (economy & information bureau) platform, modelled: REST JSON with a bearer token from
POST /auth/token, refreshed before expiry and on 401. See docs/platforms/econ.md."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import ClassVar

import httpx
from pydantic import Field

from parkhub.adapters.platforms.base import (
    JSON_CONTENT_TYPE,
    AnswerSpec,
    JsonApiConfig,
    JsonApiPlatform,
    ReportSpec,
    post,
)
from parkhub.canonical import jsonutil
from parkhub.errors import DeliveryError, TransientDeliveryError
from parkhub.protocols import econ as proto
from parkhub.secrets import Secret


class EconConfig(JsonApiConfig):
    base_url: str = Field(
        description="e.g. https://jxt.example.gov.cn (sandbox: http://127.0.0.1:PORT)"
    )
    client_id: str = Field(min_length=1, description="clientId issued by the bureau")
    client_secret: Secret = Field(description="clientSecret: env:NAME or file:NAME")
    token_refresh_margin_seconds: float = Field(
        60.0, ge=0, description="fetch a new token this long before the current one expires"
    )


class EconPlatform(JsonApiPlatform[EconConfig]):
    """The economy & information bureau: enterprise and park monthly figures."""

    name: ClassVar[str] = "econ"
    title: ClassVar[str] = "经信"
    config_model: ClassVar[type[EconConfig]] = EconConfig
    reports: ClassVar[Mapping[str, ReportSpec]] = {
        "enterprise_monthly": ReportSpec(
            record_kind="enterprise_monthly",
            mapping="econ.enterprise_monthly.yaml",
            schema="econ/enterprise_monthly.schema.json",
            title="企业月度数据",
            description="企业月度经济运行数据 (enterprise monthly figures)",
        ),
        "park_monthly": ReportSpec(
            record_kind="park_monthly",
            mapping="econ.park_monthly.yaml",
            schema="econ/park_monthly.schema.json",
            title="园区月报",
            description="园区月度经济运行汇总 (park monthly summary)",
        ),
    }
    paths: ClassVar[Mapping[str, str]] = proto.PATHS
    answers: ClassVar[AnswerSpec] = AnswerSpec(
        proto.BUSINESS_CODES, success=proto.SUCCESS, receipt_at="data.receiptId"
    )

    def __init__(self, config: EconConfig, *, http: httpx.Client | None = None) -> None:
        super().__init__(config, http=http)
        self._token_lock = threading.Lock()
        self._token: str | None = None
        self._token_expires = 0.0  # time.monotonic()
        self.tokens_fetched = 0

    def headers(self, path: str, body: bytes, idempotency_key: str) -> dict[str, str]:
        return {
            "Authorization": proto.bearer(self.token()),
            proto.IDEMPOTENCY_HEADER: idempotency_key,
        }

    def renew_credentials(self, error: DeliveryError, response: httpx.Response) -> bool:
        """HTTP 401 or code 40101: the token was revoked or expired early; drop it, so the
        resend fetches a new one."""
        if response.status_code != 401 and error.code != proto.TOKEN_INVALID:
            return False
        used = proto.token_from_header(response.request.headers.get("Authorization"))
        with self._token_lock:
            if self._token == used:  # another thread may have refreshed it already
                self._token = None
        return True

    def token(self) -> str:
        """A valid bearer token: the cached one, or a new one when it is (nearly) expired."""
        with self._token_lock:
            if self._token is not None and time.monotonic() < self._token_expires:
                return self._token
            where = f"{self.name} {proto.TOKEN_PATH}"
            secret = self.config.client_secret.get_secret_value()
            response = post(
                self.http,
                self.url(proto.TOKEN_PATH),
                platform=where,
                timeout=self.config.timeout_seconds,
                content=jsonutil.dumps(proto.token_request(self.config.client_id, secret)),
                headers={"Content-Type": JSON_CONTENT_TYPE},
            )
            data = self.answers.read(response, where).get("data") or {}
            token = data.get("accessToken")
            if not token:
                raise TransientDeliveryError(
                    f"{where}: 令牌应答缺少 accessToken (token answer without accessToken)"
                )
            ttl = float(data.get("expiresIn") or proto.DEFAULT_TOKEN_TTL)
            margin = min(self.config.token_refresh_margin_seconds, ttl / 2)
            self._token = str(token)
            self._token_expires = time.monotonic() + ttl - margin
            self.tokens_fetched += 1
            return self._token
