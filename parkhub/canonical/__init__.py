"""The one canonical model. Imports nothing else of parkhub."""

from .models import (
    RECORD_TYPES,
    Device,
    Enterprise,
    EnterpriseAnnual,
    EnterpriseMonthly,
    EnvironmentalData,
    Event,
    EventKind,
    Measurement,
    Park,
    ParkAnnual,
    ParkMonthly,
    Period,
    Quality,
    Record,
)

__all__ = [
    "RECORD_TYPES",
    "Device",
    "Enterprise",
    "EnterpriseAnnual",
    "EnterpriseMonthly",
    "EnvironmentalData",
    "Event",
    "EventKind",
    "Measurement",
    "Park",
    "ParkAnnual",
    "ParkMonthly",
    "Period",
    "Quality",
    "Record",
]
