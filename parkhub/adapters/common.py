"""What vendor adapters and platforms share: the config base and one HTTP client each."""

from __future__ import annotations

import threading
from typing import Annotated, ClassVar, TypeVar

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, SecretStr

from parkhub.protocols.hj212.sm4 import key_bytes
from parkhub.secrets import Secret

ConfigT = TypeVar("ConfigT", bound=BaseModel)
_HTTP_LOCK = threading.Lock()


class AdapterConfig(BaseModel):
    """Base of every adapter config model: unknown keys are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _sm4_key(value: SecretStr) -> SecretStr:
    key_bytes(value.get_secret_value())  # its message never holds the key
    return value


Sm4Key = Annotated[Secret, AfterValidator(_sm4_key)]
"""An HJ 212-2025 SM4 key in config: a secret (env:NAME / file:NAME) naming 32 hex digits or
16 characters, checked when the config is loaded."""


def sm4_key_bytes(value: SecretStr | None) -> bytes | None:
    """The 16 bytes of a configured SM4 key (None: none configured)."""
    return None if value is None else key_bytes(value.get_secret_value())


class HttpOwner:
    """One lazily built httpx client per adapter or platform, closed with it."""

    _http: httpx.Client | None
    _timeout: ClassVar[float] = 15.0

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            with _HTTP_LOCK:  # dispatcher threads may ask at once: build one client, not eight
                if self._http is None:
                    self._http = httpx.Client(timeout=httpx.Timeout(self._timeout, connect=5.0))
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
