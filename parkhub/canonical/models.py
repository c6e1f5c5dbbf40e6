"""The canonical model: every source maps into these records and every platform maps out of them.

Each record has a `kind` and a natural `key`; the store keeps one row per (kind, key) and a new
revision whenever the content changes. Quantities are in base units (yuan, kWh, m2, m3, tce); the
mappings convert them to what each platform wants.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .codes import normalize_division, normalize_industry
from .identifiers import check_credit_code
from .timeutil import UTC, as_utc

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class Quality(StrEnum):
    """Data quality of a measurement; HJ 212 data marks map onto these."""

    NORMAL = "N"
    STOPPED = "F"
    MAINTENANCE = "M"
    MANUAL = "S"
    FAULT = "D"
    CALIBRATING = "C"
    OVER_RANGE = "T"
    COMMS_FAULT = "B"


class Period(StrEnum):
    INSTANT = "instant"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


class Record(BaseModel):
    """Base of every canonical record.

    The fields a key is made of are bounded so that every key fits the store's 255 characters:
    an over-long device id fails as a bad record with its field named, never as a database
    error that would fail the whole batch.
    """

    # allow_inf_nan: infinity and NaN are no quantity; JSON would carry them as null, so a
    # "1e400" would silently become "not entered" (every parser refuses them first, naming
    # the field; this is the net under them all)
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False
    )

    kind: ClassVar[str]
    park_id: str = Field(min_length=1, max_length=64, description="parkhub park id")

    @property
    def key(self) -> str:
        raise NotImplementedError

    @property
    def warnings(self) -> list[str]:
        """Problems that do not reject the record (e.g. a credit code failing its check)."""
        return []

    def document(self) -> dict[str, Any]:
        """The JSON document stored and fed to mappings."""
        return self.model_dump(mode="json", exclude_none=True)

    def document_json(self) -> bytes:
        """The document as JSON bytes; field order is fixed, so equal records give equal bytes."""
        return self.__pydantic_serializer__.to_json(self, exclude_none=True)


def _period(value: str) -> str:
    if not _PERIOD.match(value):
        raise ValueError("期间格式应为 YYYY-MM (period must be YYYY-MM)")
    return value


def _aware_ts(cls: type[Record], value: dt.datetime) -> dt.datetime:
    # A `ts` validator: one Python call per record on the ingest hot path, and no conversion
    # for a value that is aware UTC already (the common case).
    return value if value.tzinfo is UTC else as_utc(value)


Amount = Annotated[float, Field(ge=0)]


class Park(Record):
    """A small and micro enterprise park (小微企业园)."""

    kind: ClassVar[str] = "park"
    name: str = Field(min_length=1)
    division_code: str = Field(description="GB/T 2260 county division code, e.g. 330302")
    functional_zone: str | None = Field(None, description="经开区 etc.: no GB/T 2260 code")
    address: str | None = None
    operator: str | None = Field(None, description="运营主体")
    land_area_m2: Amount | None = None
    floor_area_m2: Amount | None = None
    star_rating: int | None = Field(None, ge=0, le=5)

    _div = field_validator("division_code")(classmethod(lambda cls, v: normalize_division(v)))

    @property
    def key(self) -> str:
        return self.park_id


class Enterprise(Record):
    """An enterprise in a park (入园企业), keyed by its credit code."""

    kind: ClassVar[str] = "enterprise"
    credit_code: str = Field(description="统一社会信用代码")
    credit_code_valid: bool = True
    name: str = Field(min_length=1)
    industry_code: str | None = Field(None, description="GB/T 4754-2017 class, e.g. 3823")
    above_scale: bool = Field(False, description="规上企业")
    floor_area_m2: Amount | None = Field(None, description="leased floor area")
    land_area_m2: Amount | None = None
    entered_on: dt.date | None = None
    left_on: dt.date | None = None
    contact: str | None = None
    status: Literal["active", "left"] = "active"
    source_id: str | None = Field(None, description="the vendor's own id")

    @model_validator(mode="before")
    @classmethod
    def _credit(cls, data: Any) -> Any:
        if isinstance(data, dict) and "credit_code" in data:
            check = check_credit_code(str(data["credit_code"]))
            data = {**data, "credit_code": check.code, "credit_code_valid": check.ok}
        return data

    @field_validator("industry_code")
    @classmethod
    def _industry(cls, value: str | None) -> str | None:
        return None if value is None else normalize_industry(value)

    @property
    def key(self) -> str:
        return self.credit_code

    @property
    def warnings(self) -> list[str]:
        if self.credit_code_valid:
            return []
        return ["统一社会信用代码校验位不符 (credit code check character does not match)"]


class Device(Record):
    kind: ClassVar[str] = "device"
    device_id: str = Field(min_length=1, max_length=128)
    device_type: str = Field(description="electric_meter, water_meter, smoke_detector, ...")
    name: str | None = None
    vendor: str | None = None
    vendor_device_id: str | None = None
    credit_code: str | None = Field(None, description="owning enterprise, if any")
    location: str | None = None

    @property
    def key(self) -> str:
        return self.device_id


TIME_SERIES_KEYS = ("measurement", "environmental_data")
"""Kinds whose key starts with the event time (ISO 8601, UTC), then the series.

Readings arrive roughly in time order across many devices; keys that lead with the time land
at the right edge of the store's (kind, key) index instead of at one place per device, so a
batch of 1,000 readings writes a few index pages rather than hundreds (docs/performance.md).
"""


class Measurement(Record):
    """One value of one metric of one device: a reading, or an aggregate over a period."""

    # period and quality are kept as their text: serializing an enum member reads its `value`,
    # a Python property, twice a reading (StrEnum values still compare equal to the members)
    model_config = ConfigDict(use_enum_values=True)

    kind: ClassVar[str] = "measurement"
    device_id: str = Field(min_length=1, max_length=128)
    metric: str = Field(
        min_length=1, max_length=64, description="canonical metric, e.g. electricity, cod"
    )
    ts: dt.datetime = Field(description="sampling instant, or the period start")
    period: Period = Period.INSTANT
    value: float | None = None
    unit: str | None = None
    quality: Quality = Quality.NORMAL
    credit_code: str | None = None
    stat: str | None = Field(
        None, max_length=16, description="avg, min, max, cou (HJ 212), or none"
    )
    extra: dict[str, Any] | None = None

    _ts = field_validator("ts")(classmethod(_aware_ts))

    @property
    def key(self) -> str:
        stat = f"|{self.stat}" if self.stat else ""
        # Time first (TIME_SERIES_KEYS): f"{StrEnum}" is its value, without `.value`
        return f"{self.ts.isoformat()}|{self.device_id}|{self.metric}{stat}|{self.period}"


class EventKind(StrEnum):
    FIRE_ALARM = "fire_alarm"
    FIRE_FAULT = "fire_fault"
    ALARM = "alarm"
    FAULT = "fault"
    DEVICE_ONLINE = "device_online"
    DEVICE_OFFLINE = "device_offline"
    HIDDEN_DANGER = "hidden_danger"  # 安全隐患
    INCIDENT = "incident"  # 安全事故
    INFO = "info"


class Event(Record):
    """Something that happened: an alarm, a fault, a device going offline, a hidden danger."""

    kind: ClassVar[str] = "event"
    event_id: str = Field(min_length=1, max_length=255, description="source-unique id")
    event_kind: EventKind
    ts: dt.datetime
    device_id: str | None = None
    credit_code: str | None = None
    severity: Literal["info", "warning", "critical"] = "warning"
    status: Literal["open", "acknowledged", "rectifying", "closed"] = "open"
    title: str | None = None
    detail: str | None = None
    location: str | None = None
    extra: dict[str, Any] | None = None

    _ts = field_validator("ts")(classmethod(_aware_ts))

    @property
    def key(self) -> str:
        return self.event_id


class EnterpriseMonthly(Record):
    """An enterprise's monthly operating figures (企业月度经营数据)."""

    kind: ClassVar[str] = "enterprise_monthly"
    credit_code: str
    period: str = Field(description="YYYY-MM")
    output_value_yuan: Amount | None = Field(None, description="工业总产值")
    revenue_yuan: Amount | None = Field(None, description="营业收入")
    tax_yuan: Amount | None = Field(None, description="税收")
    profit_yuan: float | None = Field(None, description="利润总额")
    employees: int | None = Field(None, ge=0, description="从业人员")
    electricity_kwh: Amount | None = Field(None, description="用电量")
    energy_tce: Amount | None = Field(None, description="综合能耗 (吨标准煤)")
    rnd_yuan: Amount | None = Field(None, description="研发费用")
    value_added_yuan: Amount | None = Field(None, description="工业增加值")
    emissions_kg: Amount | None = Field(
        None, description="主要污染物排放量 (kg): COD, 氨氮, SO2, NOx together"
    )

    _p = field_validator("period")(classmethod(lambda cls, v: _period(v)))

    @model_validator(mode="before")
    @classmethod
    def _credit(cls, data: Any) -> Any:
        return _credit_code(data)

    @property
    def key(self) -> str:
        return f"{self.credit_code}|{self.period}"


def _credit_code(data: Any) -> Any:
    """The credit code normalised (a `before` validator of the figures' records)."""
    if isinstance(data, dict) and "credit_code" in data:
        data = {**data, "credit_code": check_credit_code(str(data["credit_code"])).code}
    return data


class EnterpriseAnnual(Record):
    """An enterprise's figures for a whole year (企业年度数据), as the 亩均 evaluation takes them:
    what is given here stands for the year; what is not is summed from the monthly figures."""

    kind: ClassVar[str] = "enterprise_annual"
    credit_code: str
    year: int = Field(ge=2000, le=2100)
    value_added_yuan: Amount | None = Field(None, description="工业增加值")
    tax_yuan: Amount | None = Field(None, description="评价税收 (实缴税金, as the county says)")
    revenue_yuan: Amount | None = Field(None, description="营业收入 (主营业务收入)")
    output_value_yuan: Amount | None = Field(None, description="工业总产值")
    energy_tce: Amount | None = Field(None, description="综合能耗 (吨标准煤, 等价值)")
    emissions_kg: Amount | None = Field(None, description="主要污染物排放量 (kg)")
    electricity_kwh: Amount | None = Field(None, description="用电量")
    employees: int | None = Field(None, ge=0, description="年平均职工人数")
    rnd_yuan: Amount | None = Field(None, description="R&D 经费支出")

    @model_validator(mode="before")
    @classmethod
    def _credit(cls, data: Any) -> Any:
        return _credit_code(data)

    @property
    def key(self) -> str:
        return f"{self.credit_code}|{self.year}"


class ParkMonthly(Record):
    """The park's monthly report (园区月报), built from the records at period end."""

    kind: ClassVar[str] = "park_monthly"
    period: str
    park_name: str
    division_code: str
    enterprise_count: int = Field(ge=0, description="入园企业数")
    above_scale_count: int = Field(ge=0, description="规上企业数")
    reporting_enterprises: int = Field(ge=0, description="本期有数据的企业数")
    land_area_m2: Amount | None = None
    floor_area_m2: Amount | None = None
    leased_area_m2: Amount | None = None
    occupancy_rate: float | None = Field(None, ge=0, le=1, description="入驻率")
    output_value_yuan: Amount = 0.0
    revenue_yuan: Amount = 0.0
    tax_yuan: Amount = 0.0
    employees: int = Field(0, ge=0)
    electricity_kwh: Amount = 0.0
    tax_per_mu_month_yuan: float | None = Field(
        None, description="当月亩均税收: a month's tax per mu of park land (not the annual one)"
    )
    revenue_per_mu_month_yuan: float | None = Field(None, description="当月亩均营业收入")
    tax_per_mu_12m_yuan: float | None = Field(
        None, description="亩均税收 (近12个月): tax of the 12 months to this one per mu"
    )
    revenue_per_mu_12m_yuan: float | None = Field(None, description="亩均营业收入 (近12个月)")
    value_added_per_mu_12m_yuan: float | None = Field(None, description="亩均增加值 (近12个月)")
    safety_incidents: int = Field(0, ge=0)
    hidden_dangers: int = Field(0, ge=0)
    fire_alarms: int = Field(0, ge=0)

    _p = field_validator("period")(classmethod(lambda cls, v: _period(v)))

    @property
    def key(self) -> str:
        return f"{self.park_id}|{self.period}"


class ParkAnnual(Record):
    """The park's own 亩均效益 for an evaluation year (园区年度亩均效益), with how its
    enterprises were graded; built from the stored figures (parkhub.reports.mu_average)."""

    kind: ClassVar[str] = "park_annual"
    year: int = Field(ge=2000, le=2100)
    park_name: str
    division_code: str
    rule: str = Field(description="the scoring rule used: county and year")
    land_area_m2: Amount | None = None
    enterprise_count: int = Field(ge=0)
    above_scale_count: int = Field(ge=0)
    evaluated_count: int = Field(ge=0, description="enterprises with the inputs to be scored")
    tax_yuan: Amount = 0.0
    revenue_yuan: Amount = 0.0
    value_added_yuan: Amount = 0.0
    energy_tce: Amount = 0.0
    emissions_kg: Amount = 0.0
    electricity_kwh: Amount = 0.0
    rnd_yuan: Amount = 0.0
    employees: int = Field(0, ge=0, description="年平均职工人数")
    tax_per_mu_yuan: float | None = Field(None, description="亩均税收 (年度)")
    value_added_per_mu_yuan: float | None = Field(None, description="亩均增加值")
    revenue_per_mu_yuan: float | None = Field(None, description="亩均营业收入")
    value_added_per_tce_yuan: float | None = Field(None, description="单位能耗增加值")
    value_added_per_t_emission_yuan: float | None = Field(None, description="单位排放增加值")
    labour_productivity_yuan: float | None = Field(None, description="全员劳动生产率")
    rnd_ratio: float | None = Field(None, ge=0, description="R&D经费支出占主营业务收入之比")
    tax_per_kwh_yuan: float | None = Field(None, description="单位电耗税收")
    class_a: int = Field(0, ge=0)
    class_b: int = Field(0, ge=0)
    class_c: int = Field(0, ge=0)
    class_d: int = Field(0, ge=0)

    @property
    def key(self) -> str:
        return f"{self.park_id}|{self.year}"


class EnvironmentalData(Record):
    """One environmental monitoring data set: all factors of one monitor for one period.

    The unit an HJ 212 upload carries (one 2011/2051/2061/2031 frame); the ecology platform
    receives these, while the same values are also stored as single Measurements.
    """

    model_config = ConfigDict(use_enum_values=True)  # as Measurement

    kind: ClassVar[str] = "environmental_data"
    device_id: str = Field(min_length=1, max_length=128)
    ts: dt.datetime = Field(description="sampling instant, or the period start")
    period: Period
    system_code: str | None = Field(None, description="HJ 212 ST of the source, e.g. 32")
    credit_code: str | None = None
    factors: dict[str, dict[str, str]] = Field(
        description="HJ 212 factor code -> {suffix: value as sent}, e.g. "
        "{'w01018': {'Avg': '23.5', 'Flag': 'N'}}"
    )

    _ts = field_validator("ts")(classmethod(_aware_ts))

    @property
    def key(self) -> str:
        return f"{self.ts.isoformat()}|{self.device_id}|{self.period}"  # time first


RECORD_TYPES: dict[str, type[Record]] = {
    cls.kind: cls
    for cls in (
        Park,
        Enterprise,
        Device,
        Measurement,
        Event,
        EnterpriseMonthly,
        EnterpriseAnnual,
        ParkMonthly,
        ParkAnnual,
        EnvironmentalData,
    )
}
