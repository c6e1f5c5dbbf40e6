"""The one canonical model. Imports nothing else of parkhub."""

from .models import (
    RECORD_TYPES,
    Device,
    Enterprise,
    EnterpriseMonthly,
    EnvironmentalData,
    Event,
    EventKind,
    Measurement,
    Park,
    ParkMonthly,
    Period,
    Quality,
    Record,
)

__all__ = [
    "RECORD_TYPES",
    "Device",
    "Enterprise",
    "EnterpriseMonthly",
    "EnvironmentalData",
    "Event",
    "EventKind",
    "Measurement",
    "Park",
    "ParkMonthly",
    "Period",
    "Quality",
    "Record",
]
