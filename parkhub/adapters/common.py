"""What vendor adapters and platforms share: the config base and one HTTP client each."""

from __future__ import annotations

import threading
from typing import ClassVar, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict

ConfigT = TypeVar("ConfigT", bound=BaseModel)
_HTTP_LOCK = threading.Lock()


class AdapterConfig(BaseModel):
    """Base of every adapter config model: unknown keys are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
