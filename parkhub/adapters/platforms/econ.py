"""经信局 (economy & information bureau) platform, modelled: REST JSON with a bearer token from
POST /auth/token, refreshed before expiry and on 401. See docs/platforms/econ.md."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
from pydantic import Field

from parkhub.adapters.common import AdapterConfig
from parkhub.adapters.platforms.base import Platform, Receipt, ReportSpec, classify_http, post_json
from parkhub.canonical import jsonutil
from parkhub.errors import PermanentDeliveryError, TransientDeliveryError
from parkhub.protocols import econ as proto
from parkhub.secrets import Secret


class EconConfig(AdapterConfig):
    base_url: str = Field(
        description="e.g. https://jxt.example.gov.cn (sandbox: http://127.0.0.1:PORT)"
    )
    client_id: str = Field(min_length=1, description="clientId issued by the bureau")
    client_secret: Secret = Field(description="clientSecret: env:NAME or file:NAME")
    timeout_seconds: float = Field(10.0, gt=0)
    token_refresh_margin_seconds: float = Field(
        60.0, ge=0, description="fetch a new token this long before the current one expires"
    )


class EconPlatform(Platform[EconConfig]):
    """The economy & information bureau: enterprise and park monthly figures."""

    name: ClassVar[str] = "econ"
    config_model: ClassVar[type[EconConfig]] = EconConfig
    reports: ClassVar[Mapping[str, ReportSpec]] = {
        "enterprise_monthly": ReportSpec(
            record_kind="enterprise_monthly",
            mapping="econ.enterprise_monthly.yaml",
            schema="econ/enterprise_monthly.schema.json",
            description="企业月度经济运行数据 (enterprise monthly figures)",
        ),
        "park_monthly": ReportSpec(
            record_kind="park_monthly",
            mapping="econ.park_monthly.yaml",
            schema="econ/park_monthly.schema.json",
            description="园区月度经济运行汇总 (park monthly summary)",
        ),
    }

    def __init__(self, config: EconConfig, *, http: httpx.Client | None = None) -> None:
        super().__init__(config, http=http)
        self._token_lock = threading.Lock()
        self._token: str | None = None
        self._token_expires = 0.0  # time.monotonic()
        self.tokens_fetched = 0

    def _url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + path

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        try:
            answer = jsonutil.loads(response.content)
        except jsonutil.JSONDecodeError:
            answer = None
        if not isinstance(answer, dict):
            raise TransientDeliveryError(
                f"{self.name}: 应答不是JSON对象 (response is not a JSON object: "
                f"{response.text[:200]!r})"
            )
        return answer

    def _business_error(self, answer: Mapping[str, Any]) -> None:
        code = str(answer.get("code"))
        if code == proto.SUCCESS:
            return
        meaning, transient = proto.BUSINESS_CODES.get(code, ("未知错误 (unknown code)", False))
        message = f"{self.name}: 业务错误 {code} {meaning}: {answer.get('message', '')}"
        error = TransientDeliveryError if transient else PermanentDeliveryError
        raise error(message, code=code)

    def token(self) -> str:
        """A valid bearer token: the cached one, or a new one when it is (nearly) expired."""
        with self._token_lock:
            if self._token is not None and time.monotonic() < self._token_expires:
                return self._token
            body = jsonutil.dumps(
                proto.token_request(
                    self.config.client_id, self.config.client_secret.get_secret_value()
                )
            )
            response = post_json(
                self.http,
                self._url(proto.TOKEN_PATH),
                body,
                {"Content-Type": "application/json; charset=utf-8"},
                timeout=self.config.timeout_seconds,
                platform=self.name,
            )
            classify_http(response, f"{self.name} {proto.TOKEN_PATH}")
            answer = self._answer(response)
            if str(answer.get("code")) == proto.BAD_CLIENT:
                raise PermanentDeliveryError(
                    f"{self.name}: 获取令牌失败 (token refused: {proto.BAD_CLIENT}, check "
                    "client_id / client_secret)",
                    code=proto.BAD_CLIENT,
                )
            self._business_error(answer)
            data = answer.get("data") or {}
            token = data.get("accessToken")
            if not token:
                raise TransientDeliveryError(
                    f"{self.name}: 令牌应答缺少 accessToken (token answer without accessToken)"
                )
            ttl = float(data.get("expiresIn") or proto.DEFAULT_TOKEN_TTL)
            margin = min(self.config.token_refresh_margin_seconds, ttl / 2)
            self._token = str(token)
            self._token_expires = time.monotonic() + ttl - margin
            self.tokens_fetched += 1
            return self._token

    def _drop_token(self, token: str) -> None:
        with self._token_lock:
            if self._token == token:  # another thread may have refreshed it already
                self._token = None

    def send(self, report: str, payload: Mapping[str, Any], idempotency_key: str) -> Receipt:
        body = jsonutil.dumps(payload)
        url = self._url(proto.PATHS[report])
        for attempt in (1, 2):
            token = self.token()
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": proto.bearer(token),
                proto.IDEMPOTENCY_HEADER: idempotency_key,
            }
            response = post_json(
                self.http,
                url,
                body,
                headers,
                timeout=self.config.timeout_seconds,
                platform=self.name,
            )
            if response.status_code == 401 and attempt == 1:
                self._drop_token(token)  # expired early or revoked: refresh once and resend
                continue
            classify_http(response, self.name)
            answer = self._answer(response)
            if str(answer.get("code")) == proto.TOKEN_INVALID and attempt == 1:
                self._drop_token(token)
                continue
            self._business_error(answer)
            data = answer.get("data") or {}
            receipt_id = data.get("receiptId")
            if not receipt_id:
                raise PermanentDeliveryError(
                    f"{self.name}: 成功应答缺少回执号 (success without receiptId)"
                )
            return Receipt(str(receipt_id), duplicate=bool(data.get("duplicate")), detail=answer)
        raise TransientDeliveryError(  # pragma: no cover - the loop returns or raises
            f"{self.name}: 令牌刷新后仍未授权 (still unauthorized after a token refresh)"
        )
