"""The configured sources as adapters, made on first use and closed with the hub.

Operator entry is a source too: `entry:<park id>` is the park's `manual` adapter, which needs
no config.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from parkhub.adapters.registry import vendor_class
from parkhub.adapters.vendors.base import SourceContext, VendorAdapter
from parkhub.config import HubConfig, vendor_config

ENTRY_PREFIX = "entry:"


def entry_source(park_id: str) -> str:
    """The source name of a park's operator entry."""
    return f"{ENTRY_PREFIX}{park_id}"


class Sources:
    def __init__(self, config: HubConfig, *, http: httpx.Client | None = None) -> None:
        self.config = config
        self._http = http
        self._adapters: dict[str, VendorAdapter[Any]] = {}
        self._lock = threading.Lock()

    def adapter(self, source: str) -> VendorAdapter[Any]:
        """The adapter of a configured source (or of a park's operator entry)."""
        adapter = self._adapters.get(source)
        if adapter is None:
            with self._lock:
                adapter = self._adapters.get(source) or self._make(source)
                self._adapters[source] = adapter
        return adapter

    def _make(self, source: str) -> VendorAdapter[Any]:
        if source.startswith(ENTRY_PREFIX):
            park = self.config.park(source.removeprefix(ENTRY_PREFIX))
            cls = vendor_class("manual")
            config = cls.config_model.model_validate(self.config.limits.entry.model_dump())
            return cls(SourceContext(source, park.id), config)
        sc = self.config.source(source)
        cls, cfg = vendor_config(sc)
        return cls(SourceContext(sc.name, sc.park), cfg, http=self._http)

    def close(self) -> None:
        for adapter in self._adapters.values():
            adapter.close()
