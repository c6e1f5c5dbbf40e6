"""What ingest gives back: per raw message, and per sync of a source."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parkhub.adapters.vendors.manual import finding_rows, format_report
from parkhub.errors import InputError
from parkhub.store import Finding, RawStatus, Review, UpsertResult, Written


@dataclass(kw_only=True)
class Stored:
    """Records stored new, changed or unchanged, deliveries queued, the input problems, and
    what the quality rules found (`findings`; `held`: records kept back for a reviewer)."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deliveries: int = 0
    errors: list[InputError] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    held: int = 0

    def add(self, other: Stored) -> None:
        """Count `other` in."""
        self.new += other.new
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.deliveries += other.deliveries
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)
        self.findings.extend(other.findings)
        self.held += other.held


@dataclass
class IngestResult(Stored):
    """What one raw message became."""

    raw_id: int
    duplicate: bool = False
    status: RawStatus = RawStatus.PARSED
    rows: dict[str, str] = field(default_factory=dict)
    """Record key -> the row of an entry file it came from, to show findings at their row."""

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

    def screened(self, review: Review | None) -> IngestResult:
        """With what the screen decided: its findings, held records first."""
        if review:
            self.findings = [f for h in review.held for f in h.findings] + list(review.findings)
            self.held = len(review.held)
        return self

    def summary(self) -> dict[str, Any]:
        """What an operator is shown of it (console page and API, `parkhub entry import
        --json`): the counts, how many cells were wrong, every problem as a row, and what the
        quality rules found (`held` records wait for a reviewer)."""
        return {
            "raw_id": self.raw_id,
            "duplicate": self.duplicate,
            "status": self.status,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "deliveries": self.deliveries,
            "errors": len(self.errors),
            "held": self.held,
            "problems": self.problem_rows(),
            "findings": [f.as_dict() for f in self.findings],
        }

    def problem_rows(self) -> list[dict[str, Any]]:
        """Every problem as a row to show: input errors, warnings, then what the quality
        rules found (level hold, warn or info), each at the row it came from."""
        return format_report(self, include_warnings=True) + finding_rows(self.findings, self.rows)


@dataclass
class SyncResult(Stored):
    """What one pull of a source (every stream, from its saved cursors) stored."""

    source: str
    messages: int = 0
    failure: str | None = None

    def add(self, other: Stored) -> None:
        """Count one more message in."""
        self.messages += 1
        super().add(other)
