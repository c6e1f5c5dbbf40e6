"""Quality rules as settings: what each rule checks, how hard (its severity), per park.

A finding of severity `info` or `warn` lets the record pass and is shown; `hold` keeps the
record out of every outbox until a reviewer approves, corrects or rejects it
(docs/data-quality.md). The defaults catch mistakes that really happen in park data (元 typed
into a 万元 column, a meter that runs backwards) without flagging the ordinary swings of small
firms; a park overrides any of them under `quality.parks.<park id>`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Severity = Literal["info", "warn", "hold"]
SEVERITIES: tuple[Severity, ...] = ("info", "warn", "hold")
"""From the mildest; `hold` keeps the record back."""

MONEY_FIELDS = ("output_value_yuan", "revenue_yuan", "tax_yuan", "value_added_yuan", "rnd_yuan")
"""The money figures of monthly and annual enterprise records (yuan)."""


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bounds(_Settings):
    min: float | None = None
    max: float | None = None


class RuleSettings(_Settings):
    enabled: bool = True
    severity: Severity = "warn"


_MONTH_LIMITS = {
    # per month, in canonical units: far past any firm in a small-micro park, so only
    # typing mistakes (1e15 in a 万元 column) land outside
    "output_value_yuan": Bounds(max=1e10),
    "revenue_yuan": Bounds(max=1e10),
    "tax_yuan": Bounds(max=1e9),
    "profit_yuan": Bounds(min=-1e10, max=1e10),
    "rnd_yuan": Bounds(max=1e9),
    "value_added_yuan": Bounds(max=1e10),
    "employees": Bounds(max=20_000),
    "electricity_kwh": Bounds(max=1e8),
    "energy_tce": Bounds(max=1e6),
    "emissions_kg": Bounds(max=1e8),
}
DEFAULT_LIMITS: dict[str, dict[str, Bounds]] = {
    "enterprise_monthly": _MONTH_LIMITS,
    "enterprise_annual": {
        k: Bounds(
            min=None if b.min is None else b.min * 12,
            max=None if b.max is None else b.max * (1 if k == "employees" else 12),
        )
        for k, b in _MONTH_LIMITS.items()
    },
    "enterprise": {"floor_area_m2": Bounds(max=1e6), "land_area_m2": Bounds(max=1e7)},
}


class RangeRule(RuleSettings):
    """A value outside its bounds (per record kind and field, canonical units)."""

    severity: Severity = "hold"
    limits: dict[str, dict[str, Bounds]] = Field(default_factory=lambda: DEFAULT_LIMITS)


class JumpRule(RuleSettings):
    """A monthly figure far from the enterprise's own previous month or the same month last
    year: more than `ratio` times larger or smaller, and by more than `min_change`."""

    ratio: float = Field(10.0, gt=1, description="month over month")
    ratio_yoy: float = Field(10.0, gt=1, description="against the same month last year")
    min_change: dict[str, float] = Field(
        default_factory=lambda: {
            "output_value_yuan": 1_000_000.0,
            "revenue_yuan": 1_000_000.0,
            "tax_yuan": 100_000.0,
            "value_added_yuan": 500_000.0,
            "electricity_kwh": 100_000.0,
            "employees": 20.0,
        },
        description="field -> the smallest change worth a finding; fields not named are not "
        "checked",
    )


class IntensityRule(RuleSettings):
    """Declared output against metered electricity: output value per kWh more than `ratio`
    times off the enterprise's own norm (its last 12 months) or its industry's (the park's
    enterprises of the same GB/T 4754 division this month)."""

    ratio: float = Field(5.0, gt=1)
    min_output_yuan: float = Field(1_000_000.0, ge=0, description="smaller months are noise")
    min_peers: int = Field(3, ge=2, description="industry norm only from this many firms")


class TaxRevenueRule(RuleSettings):
    """Tax greater than revenue in the same record."""


class ScaleRule(RuleSettings):
    """规上 status against annual revenue: an above-scale firm with a year's revenue under
    the threshold, or a below-scale one over it, by more than `margin`."""

    threshold_yuan: float = Field(20_000_000.0, gt=0, description="2,000 万元")
    margin: float = Field(0.2, ge=0, lt=1)


class MeterRule(RuleSettings):
    """A meter that is stuck, runs backwards or jumps. Register readings (period `instant`):
    backwards when lower than the last, stuck when unchanged for `stuck_hours`, a jump when it
    grows `jump_factor` times faster than it did. Consumption per hour/day: backwards when
    negative, a jump when `jump_factor` times the series' recent level."""

    metrics: tuple[str, ...] = ("electricity", "water", "gas")
    stuck_hours: float = Field(72.0, gt=0)
    jump_factor: float = Field(20.0, gt=1)
    seed_hours: float = Field(
        26.0, gt=0, description="history read once per park at start: the last readings"
    )


class MissingMonthRule(RuleSettings):
    """A month missing in an enterprise's monthly series (the month before has no record,
    an earlier one of the last `lookback` months has)."""

    severity: Severity = "info"
    lookback: int = Field(12, ge=2, le=36)


class UnitRule(RuleSettings):
    """A unit mistake by magnitude: a figure about `factor` times (or 1/`factor`) the
    enterprise's own usual value, or another figure of the same record (元 typed into a 万元
    column is 10,000 times too big)."""

    severity: Severity = "hold"
    factor: float = Field(10_000.0, gt=1)
    tolerance: float = Field(3.0, gt=1, description="ratio within factor/tolerance..factor*t")
    fields: tuple[str, ...] = (*MONEY_FIELDS, "electricity_kwh")


class QualityRules(_Settings):
    """Every rule with its settings; `enabled: false` turns one off."""

    range: RangeRule = RangeRule()
    jump: JumpRule = JumpRule()
    intensity: IntensityRule = IntensityRule()
    tax_revenue: TaxRevenueRule = TaxRevenueRule()
    scale: ScaleRule = ScaleRule()
    meter: MeterRule = MeterRule()
    missing_month: MissingMonthRule = MissingMonthRule()
    unit_mistake: UnitRule = UnitRule()


class QualityConfig(_Settings):
    """`quality:` in parkhub.yaml: the rules for every park, and per park what differs."""

    enabled: bool = True
    rules: QualityRules = QualityRules()
    parks: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="park id -> rule name -> settings that differ from `rules`, e.g. "
        "{jump: {severity: hold}}",
    )

    @model_validator(mode="after")
    def _parks_valid(self) -> QualityConfig:
        for park in self.parks:
            self.for_park(park)  # a bad override fails at load, naming its park
        return self

    def for_park(self, park_id: str) -> QualityRules:
        """The rules of one park: `rules` with the park's overrides laid over them."""
        override = self.parks.get(park_id)
        if not override:
            return self.rules
        base = self.rules.model_dump()
        for name, settings in override.items():
            if name not in base:
                raise ValueError(f"quality.parks.{park_id}: unknown rule {name!r}")
            base[name] = {**base[name], **(settings or {})}
        try:
            return QualityRules.model_validate(base)
        except ValueError as exc:
            raise ValueError(f"quality.parks.{park_id}: {exc}") from None
