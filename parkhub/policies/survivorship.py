"""Which source's value stands (survivorship), as settings: per record kind and field, the
sources in order of precedence, highest first.

A source is named by its configured name, or by its class: `review` (a reviewer's
correction), `entry` (operator entry, `entry:<park>`), `vendor` (a smart-park platform pulled
or pushing), `device` (IoT platforms and data loggers: onenet, ctwing, hj212) and `system`
(what parkhub builds: the configured parks, reports). The defaults: operator entry wins for
the roster and the figures it sets, a vendor fills what the operator left empty; measurements
are not merged (a reading's key names its device, and meters come from devices).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .quality import Severity

SourceClass = Literal["review", "entry", "vendor", "device", "system"]
SOURCE_CLASSES: tuple[SourceClass, ...] = ("review", "entry", "vendor", "device", "system")
DEVICE_VENDORS = frozenset({"onenet", "ctwing", "hj212"})
"""Vendors whose data comes from devices (unless `classes` says otherwise)."""
ENTRY_VENDOR = "manual"


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Precedence(_Settings):
    """Sources (names or classes) in order, highest first: for every field of the kind, and
    for the fields named in `fields` differently."""

    default: tuple[str, ...]
    fields: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    def order(self, field: str) -> tuple[str, ...]:
        return self.fields.get(field, self.default)


_OPERATOR_FIRST = Precedence(default=("review", "entry", "vendor", "device", "system"))
DEFAULT_KINDS: dict[str, Precedence] = {
    "enterprise": _OPERATOR_FIRST,
    "enterprise_monthly": _OPERATOR_FIRST,
    "enterprise_annual": _OPERATOR_FIRST,
    "device": Precedence(default=("review", "entry", "device", "vendor", "system")),
}


class SurvivorshipConfig(_Settings):
    """`survivorship:` in parkhub.yaml."""

    enabled: bool = True
    classes: dict[str, SourceClass] = Field(
        default_factory=dict,
        description="source name -> class, where the default by vendor is wrong "
        f"(manual: entry; {', '.join(sorted(DEVICE_VENDORS))}: device; others: vendor)",
    )
    kinds: dict[str, Precedence] = Field(
        default_factory=lambda: dict(DEFAULT_KINDS),
        description="record kind -> precedence; kinds not named are not merged",
    )
    parks: dict[str, dict[str, Precedence]] = Field(
        default_factory=dict, description="park id -> record kind -> precedence in that park"
    )
    conflict_severity: Severity = Field(
        "info", description="the finding when a lower source disagrees with the value kept"
    )

    def precedence(self, park_id: str, kind: str) -> Precedence | None:
        """The precedence of a kind in a park, or None: the kind is not merged."""
        if not self.enabled:
            return None
        park = self.parks.get(park_id)
        if park is not None and kind in park:
            return park[kind]
        return self.kinds.get(kind)
