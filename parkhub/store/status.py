"""The statuses a delivery, a raw message and an alert go through, one enum each."""

from __future__ import annotations

from collections.abc import Sized
from enum import StrEnum


class DeliveryStatus(StrEnum):
    """pending -> in_flight -> sent | failed (retried at next_attempt_at) | dead; an older
    revision not yet sent is superseded by a newer one. Listed from the furthest a delivery
    got to the least."""

    SENT = "sent"
    IN_FLIGHT = "in_flight"
    PENDING = "pending"
    FAILED = "failed"
    DEAD = "dead"
    SUPERSEDED = "superseded"


WAITING = (DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.DEAD)
"""Not delivered and not being sent: a newer revision supersedes these."""


class RawStatus(StrEnum):
    """received -> parsed | partial (some records failed) | rejected (refused or unusable);
    a problem (partial, rejected) is then resolved by a later clean import of the same file,
    or dismissed by an operator. The raw message stays either way (reparse by id)."""

    RECEIVED = "received"
    PARSED = "parsed"
    PARTIAL = "partial"
    REJECTED = "rejected"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"

    @classmethod
    def of(cls, records: int, errors: Sized) -> RawStatus:
        """What a parsed message became: its records and its input errors."""
        if len(errors):
            return cls.PARTIAL if records else cls.REJECTED
        return cls.PARSED


PROBLEMS = (RawStatus.REJECTED, RawStatus.PARTIAL)
"""Raw messages an operator should look at (and may reparse after a fix)."""


class AlertStatus(StrEnum):
    """A problem notified to a park's robot: pending -> sent | failed (gave up); resolved when
    the problem went away before it was sent."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    RESOLVED = "resolved"


def operator_summary(counts: dict[str, int]) -> dict[str, int]:
    """A platform's deliveries as operators see them: in flight counts as pending."""
    return {
        "sent": counts.get(DeliveryStatus.SENT, 0),
        "pending": counts.get(DeliveryStatus.PENDING, 0) + counts.get(DeliveryStatus.IN_FLIGHT, 0),
        "failed": counts.get(DeliveryStatus.FAILED, 0),
        "dead": counts.get(DeliveryStatus.DEAD, 0),
        "superseded": counts.get(DeliveryStatus.SUPERSEDED, 0),
    }
