"""The configured platforms as the dispatcher uses them: each with its compiled mappings, its
payload validators and its retry policy."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema

from parkhub.adapters.platforms.base import Platform, ReportSpec
from parkhub.config import HubConfig, PlatformConfig, platform_config
from parkhub.errors import PermanentDeliveryError
from parkhub.limits import PlatformLimits
from parkhub.mappings import CompiledMapping, load_mapping
from parkhub.schemas.loader import payload_validator


@dataclass(frozen=True)
class RetrySettings:
    short_retries: int = 2
    short_wait_seconds: float = 0.2
    base_seconds: float = 30.0
    max_backoff_seconds: float = 3600.0
    max_attempts: int = 10

    def next_attempt(self, attempts: int, now: dt.datetime) -> dt.datetime | None:
        """When to try again after `attempts` failed attempts; None when it is time to give up."""
        if attempts >= self.max_attempts:
            return None
        delay = min(self.max_backoff_seconds, self.base_seconds * 2 ** (attempts - 1))
        return now + dt.timedelta(seconds=delay * random.uniform(0.8, 1.2))


@dataclass
class PlatformRuntime:
    """A configured platform with its compiled mappings and payload validators."""

    name: str
    platform: Platform[Any]
    retry: RetrySettings
    reports: Mapping[str, ReportSpec]
    limits: PlatformLimits = field(default_factory=PlatformLimits)

    def mapping(self, report: str) -> CompiledMapping:
        return load_mapping(self.reports[report].mapping)

    def validate(self, report: str, payload: Mapping[str, Any], record: str) -> None:
        schema = self.reports[report].schema
        if schema is None:
            return
        error = jsonschema.exceptions.best_match(payload_validator(schema).iter_errors(payload))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(payload)"
            raise PermanentDeliveryError(
                f"{self.name}.{report}: 载荷不符合接口规范 (payload violates {schema} at "
                f"{where}: {error.message}) record {record}"
            )


def runtimes(config: HubConfig, *, http: httpx.Client | None = None) -> dict[str, PlatformRuntime]:
    """Every enabled platform of the config, ready to send."""
    return {pc.name: runtime(pc, http=http) for pc in config.platforms if pc.enabled}


def runtime(pc: PlatformConfig, *, http: httpx.Client | None = None) -> PlatformRuntime:
    cls, cfg = platform_config(pc)
    reports = {s.report: cls.reports[s.report] for s in pc.subscriptions()}
    platform = cls(cfg, http=http)
    bind_mappings(platform, reports)
    r = pc.retry
    retry = RetrySettings(
        r.short_retries, r.short_wait_seconds, r.base_seconds, r.max_backoff_seconds, r.max_attempts
    )
    return PlatformRuntime(pc.name, platform, retry, reports, pc.limits)


def bind_mappings(platform: Platform[Any], reports: Mapping[str, ReportSpec]) -> None:
    """Compile each report's mapping spec (a broken spec fails here, at start, not at send
    time) and hand the platform the spec's labels (Platform.set_labels)."""
    for report, spec in reports.items():
        platform.set_labels(report, load_mapping(spec.mapping).labels())
