"""What ingest gives back: per raw message, and per sync of a source."""

from __future__ import annotations

from dataclasses import dataclass, field

from parkhub.errors import InputError
from parkhub.store import RawStatus, UpsertResult, Written


@dataclass
class IngestResult:
    """What one raw message became."""

    raw_id: int
    duplicate: bool = False
    status: RawStatus = RawStatus.PARSED
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deliveries: int = 0
    errors: list[InputError] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        raw_id: int,
        stored: UpsertResult | Written,
        *,
        status: RawStatus,
        errors: list[InputError],
        warnings: list[InputError],
        duplicate: bool = False,
    ) -> IngestResult:
        return cls(
            raw_id,
            duplicate=duplicate,
            status=status,
            new=stored.new,
            changed=stored.changed,
            unchanged=stored.unchanged,
            deliveries=stored.deliveries,
            errors=errors,
            warnings=warnings,
        )


@dataclass
class SyncResult:
    """What one pull of a source (every stream, from its saved cursors) stored."""

    source: str
    messages: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deliveries: int = 0
    errors: list[InputError] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)
    failure: str | None = None

    def add(self, r: IngestResult) -> None:
        self.messages += 1
        self.new += r.new
        self.changed += r.changed
        self.unchanged += r.unchanged
        self.deliveries += r.deliveries
        self.errors.extend(r.errors)
        self.warnings.extend(r.warnings)
