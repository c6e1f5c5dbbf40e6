"""parkhub.yaml: parks, sources, platforms, subscriptions and schedules, validated by pydantic.

Secrets are never written here: adapter configs reference them as env:NAME or file:NAME.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from parkhub.adapters.platforms.base import Platform, ReportSpec
from parkhub.adapters.registry import platform_class, vendor_class
from parkhub.adapters.vendors.base import VendorAdapter
from parkhub.canonical import Park
from parkhub.canonical.codes import normalize_division
from parkhub.canonical.timeutil import SHANGHAI
from parkhub.errors import ConfigError
from parkhub.limits import Limits, PlatformLimits
from parkhub.policies import EvaluationConfig, QualityConfig, SurvivorshipConfig
from parkhub.secrets import Secret


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def validate_cron(expr: str) -> str:
    """A 5-field crontab as `parkhub run` will schedule it (Beijing time), or ValueError."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expr, timezone=SHANGHAI)
    except ValueError as exc:
        raise ValueError(
            f"cron 表达式无效 (invalid cron {expr!r}: {exc}; five fields: minute hour day month "
            'weekday, e.g. "0 1 1 * *")'
        ) from None
    return expr


def validate_url(value: str) -> str:
    """An http(s) URL with a host, as the adapters will call it, or ValueError."""
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValueError(f"网址无效 (invalid URL {value!r}: {exc})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(
            f"网址应以 http:// 或 https:// 开头 (URL needs http(s) and a host: {value!r})"
        )
    return value


GB2260_PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82",
})  # fmt: skip


def validate_division(code: str) -> str:
    """A GB/T 2260 code (6 digits, a real province, current code for an old one), or
    ValueError."""
    code = normalize_division(code)
    if code[:2] not in GB2260_PROVINCES:
        raise ValueError(f"不是有效的 GB/T 2260 行政区划代码 (no such province in {code!r})")
    return code


class Schedule(_Model):
    """When a job runs: every N seconds, or a cron expression in Beijing time."""

    every_seconds: float | None = Field(None, gt=0)
    cron: str | None = Field(None, description="5-field crontab, Asia/Shanghai")

    _cron = field_validator("cron")(
        classmethod(lambda cls, v: None if v is None else validate_cron(v))
    )

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
        return validate_division(v)

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
    push_body_bytes: int | None = Field(
        None, ge=1024, le=256 * 1024 * 1024, description="push receiver: largest body (413 past)"
    )
    config: dict[str, Any] = Field(default_factory=dict)


class RetryPolicy(_Model):
    short_retries: int = Field(2, ge=0, le=10, description="quick retries inside one attempt")
    short_wait_seconds: float = Field(0.2, ge=0)
    base_seconds: float = Field(30.0, gt=0, description="first persisted backoff")
    max_backoff_seconds: float = Field(3600.0, gt=0)
    max_attempts: int = Field(10, ge=1, description="then the delivery is dead (replayable)")


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
    annual: Schedule = Field(
        Schedule(cron="0 3 20 1 *"), description="the park's annual 亩均 report of last year"
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

    database_url: str | None = Field(
        None,
        description="overridden by PARKHUB_DATABASE_URL; a relative SQLite path is relative to "
        "this file's folder",
    )
    secrets_file: str | None = Field(
        None,
        description="KEY=value file for file:NAME secrets when PARKHUB_SECRETS_FILE is not set "
        "(relative to this file's folder); keep it out of version control",
    )
    timezone: Literal["Asia/Shanghai"] = "Asia/Shanghai"
    parks: list[ParkConfig]
    sources: list[SourceConfig] = Field(default_factory=list)
    platforms: list[PlatformConfig] = Field(default_factory=list)
    dispatch: DispatchConfig = DispatchConfig()
    reports: ReportsConfig = ReportsConfig()
    alerts: AlertsConfig = AlertsConfig()
    limits: Limits = Field(Limits(), description="what parkhub takes from outside (sizes, rates)")
    quality: QualityConfig = QualityConfig()
    survivorship: SurvivorshipConfig = SurvivorshipConfig()
    evaluation: EvaluationConfig = EvaluationConfig()

    @model_validator(mode="after")
    def _references(self) -> HubConfig:
        problems = reference_problems(self.model_dump())
        if problems:
            raise ValueError("; ".join(problems))
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
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError(f"未知的数据源 (unknown source {name!r}; known: {known})")

    def platform(self, name: str) -> PlatformConfig:
        for p in self.platforms:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.platforms) or "none configured"
        raise ConfigError(f"未知的平台 (unknown platform {name!r}; known: {known})")


def reference_problems(data: Any) -> list[str]:
    """Every duplicate name and every reference to an unknown park in parkhub.yaml's data
    (as read, even when it has other problems, or dumped from a HubConfig)."""
    data = data if isinstance(data, dict) else {}

    def items(key: str) -> list[dict[str, Any]]:
        return [i for i in data.get(key) or [] if isinstance(i, dict)]

    out = []
    for kind, key, field in (("park", "parks", "id"), ("source", "sources", "name"),
                             ("platform", "platforms", "name")):  # fmt: skip
        names = [str(i.get(field)) for i in items(key)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            out.append(f"duplicate {kind} names: {', '.join(dupes)}")
    parks = {str(p.get("id")) for p in items("parks")}
    for section in ("alerts", "quality", "survivorship"):
        named = data.get(section) if isinstance(data.get(section), dict) else {}
        out += [
            f"{section}: unknown park {p!r}" for p in named.get("parks") or {} if p not in parks
        ]
    for s in items("sources"):
        if "park" in s and str(s["park"]) not in parks:
            out.append(f"source {s.get('name')}: unknown park {s['park']!r}")
    for p in items("platforms"):
        for sub in p.get("reports") or []:
            for park in (sub.get("parks") or []) if isinstance(sub, dict) else []:
                if park not in parks:
                    out.append(f"platform {p.get('name')}: unknown park {park!r}")
    return out


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
    where = f"source {source.name} ({source.vendor})"
    return cls, _adapter_config(where, cls.config_model, source.config)


def platform_config(platform: PlatformConfig) -> tuple[type[Platform[Any]], BaseModel]:
    """The platform's class and config, or one ConfigError naming every problem: reports it
    does not have, and its config block's."""
    cls = platform_class(platform.type)
    where = f"platform {platform.name} ({platform.type})"
    problems = [
        f"{platform.type} has no report {sub.report!r} (it has: {', '.join(cls.reports)})"
        for sub in platform.subscriptions()
        if sub.report not in cls.reports
    ]
    try:
        validated = _adapter_config(where, cls.config_model, platform.config)
    except ConfigError as exc:
        problems.append(str(exc).removeprefix(f"{where}: "))
    if problems:
        raise ConfigError(f"{where}: {'; '.join(problems)}")
    return cls, validated


def _adapter_config(where: str, model: type[BaseModel], raw: dict[str, Any]) -> BaseModel:
    """An adapter's config block validated, or one ConfigError naming all its problems: the
    fields pydantic refuses and every `*url` that is no http(s) URL (what the adapter calls)."""
    problems = []
    for name, value in raw.items():
        if name.endswith("url") and isinstance(value, str):
            try:
                validate_url(value)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
    try:
        validated = model.model_validate(raw)
    except ValidationError as exc:
        problems = error_lines(exc) + problems
    if problems:
        raise ConfigError(f"{where}: {'; '.join(problems)}")
    return validated


QUOTE_HINT = '（请加引号 quote it: division_code: "{}"）'


def error_lines(exc: ValidationError) -> list[str]:
    """pydantic's errors as operators read them: `place: reason`, once each; no "Value error,"
    prefix, no noise from the other member of a `str | Subscription` union, and a hint to
    quote a division code YAML read as a number."""
    out: list[str] = []
    for e in exc.errors():
        loc = [str(p) for p in e["loc"]]
        if loc and loc[-1] == "str" and e["type"] == "string_type" and len(exc.errors()) > 1:
            continue  # the plain-name form of a subscription given as a mapping
        msg = str(e["msg"]).removeprefix("Value error, ")
        if loc and loc[-1] == "division_code" and e["type"] == "string_type":
            typed = e.get("input")
            msg += QUOTE_HINT.format(typed if isinstance(typed, int) and typed > 99999 else 330302)
        line = f"{'.'.join(p for p in loc if p != 'Subscription') or '(root)'}: {msg}"
        if line not in out:
            out.append(line)
    return out


def _errors(exc: ValidationError) -> str:
    return "; ".join(error_lines(exc))


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


def read_config(path: str | Path) -> Any:
    """parkhub.yaml's data with its relative paths made absolute against the file's folder:
    a SQLite `database_url`, `secrets_file`, and adapters' path settings (e.g. a stats
    `export_dir`). The secrets file is used when PARKHUB_SECRETS_FILE is not set."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"配置文件不存在 (config file not found: {path}); run `parkhub init`")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if isinstance(data, dict):
        resolve_paths(data, path.resolve().parent)
        if data.get("secrets_file") and not os.environ.get("PARKHUB_SECRETS_FILE"):
            os.environ["PARKHUB_SECRETS_FILE"] = str(data["secrets_file"])
    return data


def resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Make the config's relative paths absolute against `base` (in place)."""
    url = data.get("database_url")
    if isinstance(url, str) and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rest = url.removeprefix("sqlite:///")
        if rest and not rest.startswith(":memory:") and not Path(rest).is_absolute():
            data["database_url"] = f"sqlite:///{base / rest}"
    if isinstance(data.get("secrets_file"), str):
        data["secrets_file"] = str(base / data["secrets_file"])
    for key, lookup in (("sources", vendor_class), ("platforms", platform_class)):
        for item in data.get(key) or []:
            if isinstance(item, dict) and isinstance(item.get("config"), dict):
                _resolve_adapter_paths(item, lookup, base)


def _resolve_adapter_paths(item: dict[str, Any], lookup: Any, base: Path) -> None:
    try:
        model = lookup(item.get("vendor") or item.get("type"))
    except Exception:  # an unknown adapter: validation names it
        return
    fields = model.config_model.model_fields
    for name, value in item["config"].items():
        info = fields.get(name)
        if info is None or not isinstance(value, str) or "Path" not in str(info.annotation):
            continue
        if not Path(value).is_absolute():
            item["config"][name] = str(base / value)


def load_config(path: str | Path, *, check_adapters: bool = True) -> HubConfig:
    """Read and validate parkhub.yaml; every problem names the file and the place in it.
    `check_adapters=False` leaves the adapters' configs (and so their secrets) unchecked: for
    commands that only read."""
    data = read_config(path)
    return parse_config(data, origin=str(path), check_adapters=check_adapters)


def config_json_schema() -> dict[str, Any]:
    return HubConfig.model_json_schema()
