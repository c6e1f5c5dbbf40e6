"""parkhub.yaml: parks, sources, platforms, subscriptions and schedules, validated by pydantic.

Secrets are never written here: adapter configs reference them as env:NAME or file:NAME.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from parkhub.adapters.platforms.base import Platform, ReportSpec
from parkhub.adapters.registry import platform_class, vendor_class
from parkhub.adapters.vendors.base import VendorAdapter
from parkhub.canonical import Park
from parkhub.canonical.codes import normalize_division
from parkhub.errors import ConfigError
from parkhub.secrets import Secret


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Model):
    """When a job runs: every N seconds, or a cron expression in Beijing time."""

    every_seconds: float | None = Field(None, gt=0)
    cron: str | None = Field(None, description="5-field crontab, Asia/Shanghai")

    @model_validator(mode="after")
    def _one(self) -> Schedule:
        if (self.every_seconds is None) == (self.cron is None):
            raise ValueError("give exactly one of every_seconds or cron")
        return self


class ParkConfig(_Model):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    name: str = Field(min_length=1, description="园区名称")
    division_code: str = Field(description="GB/T 2260, e.g. 330302 (鹿城区)")
    functional_zone: str | None = None
    address: str | None = None
    operator: str | None = Field(None, description="运营主体")
    land_area_m2: float | None = Field(None, ge=0)
    floor_area_m2: float | None = Field(None, ge=0)

    @field_validator("division_code")
    @classmethod
    def _division(cls, v: str) -> str:
        return normalize_division(v)

    def record(self) -> Park:
        return Park(
            park_id=self.id,
            name=self.name,
            division_code=self.division_code,
            functional_zone=self.functional_zone,
            address=self.address,
            operator=self.operator,
            land_area_m2=self.land_area_m2,
            floor_area_m2=self.floor_area_m2,
        )


class SourceConfig(_Model):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    vendor: str = Field(description="adapter name (qisheng, onenet, ctwing, hj212, ...)")
    park: str
    enabled: bool = True
    schedule: Schedule | None = Field(None, description="pull schedule; none for push-only")
    streams: list[str] | None = Field(None, description="pull only these streams")
    config: dict[str, Any] = Field(default_factory=dict)


class RetryPolicy(_Model):
    short_retries: int = Field(2, ge=0, le=10, description="quick retries inside one attempt")
    short_wait_seconds: float = Field(0.2, ge=0)
    base_seconds: float = Field(30.0, gt=0, description="first persisted backoff")
    max_backoff_seconds: float = Field(3600.0, gt=0)
    max_attempts: int = Field(10, ge=1, description="then the delivery is dead (replayable)")


class PlatformLimits(_Model):
    """What a platform can take. The rate and the concurrency cap hold across every worker
    sharing the database (parkhub.store.limits); the pause is each worker's own."""

    rate_per_second: float | None = Field(
        None, gt=0, description="requests a second at most (none: as fast as it answers)"
    )
    burst: int | None = Field(
        None, ge=1, description="requests at once after a quiet spell (default: one second's)"
    )
    max_concurrency: int | None = Field(
        None, ge=1, le=256, description="deliveries in flight at once at most"
    )
    pause_after_failures: int | None = Field(
        5,
        ge=1,
        description="consecutive temporary failures (timeouts, 5xx, busy) after which the "
        "platform is paused and probed with one delivery at a time, instead of spending every "
        "due delivery's attempts on an outage; none: never pause",
    )

    def bucket(self) -> float:
        """The bucket size: `burst`, else one second's worth (at least one request)."""
        if self.burst is not None:
            return float(self.burst)
        return max(1.0, float(self.rate_per_second or 1.0))


Cadence = Literal["realtime", "daily", "monthly", "quarterly"]


class Subscription(_Model):
    report: str
    parks: list[str] | None = Field(None, description="only these parks (default: all)")
    cadence: Cadence | None = Field(
        None, description="default: monthly for monthly records, realtime for the rest"
    )
    deadline_day: int = Field(
        10, ge=1, le=28, description="monthly/quarterly: due by this day of the next month"
    )


class PlatformConfig(_Model):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    type: str = Field(description="platform adapter (provincial, econ, safety, fire, stats, ...)")
    enabled: bool = True
    config: dict[str, Any] = Field(default_factory=dict)
    reports: list[Subscription | str]
    retry: RetryPolicy = RetryPolicy()
    limits: PlatformLimits = PlatformLimits()

    def subscriptions(self) -> list[Subscription]:
        return [Subscription(report=r) if isinstance(r, str) else r for r in self.reports]


class DispatchConfig(_Model):
    schedule: Schedule = Schedule(every_seconds=5)
    batch_size: int = Field(200, ge=1, le=5000)
    lease_seconds: float = Field(120.0, gt=0, description="a crashed worker's rows return after")
    concurrency: int = Field(8, ge=1, le=64, description="parallel sends per dispatcher")


class ReportsConfig(_Model):
    monthly: Schedule = Schedule(cron="0 1 1 * *")
    rebuild: Schedule = Field(
        Schedule(cron="0 2 * * *"),
        description="rebuild last period's reports daily until the deadlines pass, so late "
        "data goes out as a correction",
    )


class ParkAlerts(_Model):
    """Where one park's alerts go: its WeCom group robot and/or its DingTalk robot."""

    wecom_webhook: Secret | None = Field(
        None,
        description="企业微信群机器人 webhook URL (https://qyapi.weixin.qq.com/cgi-bin/webhook/"
        "send?key=...), as env:NAME or file:NAME: the key in it is a secret",
    )
    dingtalk_webhook: Secret | None = Field(
        None,
        description="钉钉自定义机器人 webhook URL (https://oapi.dingtalk.com/robot/send?"
        "access_token=...), as env:NAME or file:NAME",
    )
    dingtalk_secret: Secret | None = Field(
        None, description="钉钉机器人“加签”密钥 (SEC...), as env:NAME or file:NAME"
    )
    dead_deliveries: bool = Field(True, description="notify deliveries that stopped retrying")
    deadlines: bool = Field(True, description="notify deadlines at risk (3 days) and late")

    @model_validator(mode="after")
    def _pairs(self) -> ParkAlerts:
        if self.dingtalk_secret is not None and self.dingtalk_webhook is None:
            raise ValueError("dingtalk_secret needs dingtalk_webhook")
        return self

    def channels(self) -> list[str]:
        out = []
        if self.wecom_webhook is not None:
            out.append("wecom")
        if self.dingtalk_webhook is not None:
            out.append("dingtalk")
        return out


class AlertsConfig(_Model):
    """`alerts:` in parkhub.yaml: per park, the group robots that hear about problems."""

    enabled: bool = True
    console_url: str | None = Field(
        None, description="console address linked from messages, e.g. https://hub.example.cn"
    )
    timeout_seconds: float = Field(10.0, gt=0, le=60)
    max_attempts: int = Field(
        5, ge=1, le=100, description="checks that may retry a refused message, then give up"
    )
    parks: dict[str, ParkAlerts] = Field(default_factory=dict, description="park id -> robots")


class HubConfig(_Model):
    """The whole of parkhub.yaml."""

    database_url: str | None = Field(None, description="overridden by PARKHUB_DATABASE_URL")
    timezone: Literal["Asia/Shanghai"] = "Asia/Shanghai"
    parks: list[ParkConfig]
    sources: list[SourceConfig] = Field(default_factory=list)
    platforms: list[PlatformConfig] = Field(default_factory=list)
    dispatch: DispatchConfig = DispatchConfig()
    reports: ReportsConfig = ReportsConfig()
    alerts: AlertsConfig = AlertsConfig()

    @model_validator(mode="after")
    def _references(self) -> HubConfig:
        parks = {p.id for p in self.parks}
        for kind, items in (
            ("park", self.parks),
            ("source", self.sources),
            ("platform", self.platforms),
        ):
            names: list[str] = [
                str(getattr(i, "id", None) or getattr(i, "name", "")) for i in items
            ]
            dupes = {n for n in names if names.count(n) > 1}
            if dupes:
                raise ValueError(f"duplicate {kind} names: {', '.join(sorted(dupes))}")
        for park in self.alerts.parks:
            if park not in parks:
                raise ValueError(f"alerts: unknown park {park!r}")
        for s in self.sources:
            if s.park not in parks:
                raise ValueError(f"source {s.name}: unknown park {s.park!r}")
        for p in self.platforms:
            for sub in p.subscriptions():
                for park in sub.parks or []:
                    if park not in parks:
                        raise ValueError(f"platform {p.name}: unknown park {park!r}")
        return self

    def park(self, park_id: str) -> ParkConfig:
        for p in self.parks:
            if p.id == park_id:
                return p
        raise ConfigError(f"unknown park {park_id!r}")

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(f"未知的数据源 (unknown source {name!r})")

    def platform(self, name: str) -> PlatformConfig:
        for p in self.platforms:
            if p.name == name:
                return p
        raise ConfigError(f"未知的平台 (unknown platform {name!r})")


PERIODIC_KINDS = {"park_monthly": "monthly", "enterprise_monthly": "monthly"}
"""Records made once a period: a report of them is due at that cadence unless configured."""
PERIODIC_CADENCES = ("monthly", "quarterly")


@dataclass(frozen=True, slots=True)
class Subscribed:
    """A platform's subscription to one of its reports, with the report's spec and cadence."""

    platform: PlatformConfig
    subscription: Subscription
    spec: ReportSpec
    cadence: str

    @property
    def periodic(self) -> bool:
        """Due once a period, by a deadline (monthly, quarterly)."""
        return self.cadence in PERIODIC_CADENCES

    def covers(self, park_id: str) -> bool:
        return not self.subscription.parks or park_id in self.subscription.parks


def subscriptions(config: HubConfig, *, enabled_only: bool = True) -> Iterator[Subscribed]:
    """Every subscription (of enabled platforms only, by default). Its cadence is the configured
    one, else that of its record kind (PERIODIC_KINDS), else real time."""
    for pc in config.platforms:
        if enabled_only and not pc.enabled:
            continue
        reports = platform_class(pc.type).reports
        for sub in pc.subscriptions():
            spec = reports[sub.report]
            cadence = sub.cadence or PERIODIC_KINDS.get(spec.record_kind, "realtime")
            yield Subscribed(pc, sub, spec, cadence)


def vendor_config(source: SourceConfig) -> tuple[type[VendorAdapter[Any]], BaseModel]:
    cls = vendor_class(source.vendor)
    try:
        return cls, cls.config_model.model_validate(source.config)
    except ValidationError as exc:
        raise ConfigError(f"source {source.name} ({source.vendor}): {_errors(exc)}") from None


def platform_config(platform: PlatformConfig) -> tuple[type[Platform[Any]], BaseModel]:
    cls = platform_class(platform.type)
    for sub in platform.subscriptions():
        if sub.report not in cls.reports:
            raise ConfigError(
                f"platform {platform.name}: {platform.type} has no report {sub.report!r} "
                f"(it has: {', '.join(cls.reports)})"
            )
    try:
        return cls, cls.config_model.model_validate(platform.config)
    except ValidationError as exc:
        raise ConfigError(f"platform {platform.name} ({platform.type}): {_errors(exc)}") from None


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
    )


def parse_config(
    data: Any, *, origin: str = "parkhub.yaml", check_adapters: bool = True
) -> HubConfig:
    try:
        config = HubConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: {_errors(exc)}") from None
    if check_adapters:
        for s in config.sources:
            vendor_config(s)
        for p in config.platforms:
            platform_config(p)
    return config


def load_config(path: str | Path, *, check_adapters: bool = True) -> HubConfig:
    """Read and validate parkhub.yaml; every problem names the file and the place in it."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"配置文件不存在 (config file not found: {path}); run `parkhub init`")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, origin=str(path), check_adapters=check_adapters)


def config_json_schema() -> dict[str, Any]:
    return HubConfig.model_json_schema()
