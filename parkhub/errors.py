"""The exception tree. Every message names the source, the record, the field and the reason."""

from __future__ import annotations


class ParkhubError(Exception):
    """Base of every error parkhub raises on purpose."""


class ConfigError(ParkhubError):
    """The configuration (parkhub.yaml, an adapter's config, a mapping spec) is invalid."""


class InputError(ParkhubError):
    """A received record cannot be turned into canonical records.

    >>> str(InputError("qisheng-lc", "enterprises#3", "creditCode", "校验位不符"))
    '[qisheng-lc] enterprises#3 creditCode: 校验位不符'
    """

    def __init__(self, source: str, record: str, field: str | None, reason: str) -> None:
        self.source = source
        self.record = record
        self.field = field
        self.reason = reason
        where = f" {field}" if field else ""
        super().__init__(f"[{source}] {record}{where}: {reason}")

    def as_dict(self) -> dict[str, str | None]:
        return {
            "source": self.source,
            "record": self.record,
            "field": self.field,
            "reason": self.reason,
        }


class InputWarning(InputError):
    """Something in a received record the operator should see, though the record was made
    (an unknown device kept under a fallback id, a check digit that does not match)."""


class ForeignRecordsError(ParkhubError):
    """An operator's file names records stored for another park: nothing of it was imported."""

    def __init__(self, park_id: str, records: list[InputError]) -> None:
        self.park_id = park_id
        self.records = records
        shown = "; ".join(str(r) for r in records[:5])
        more = f" (+{len(records) - 5})" if len(records) > 5 else ""
        super().__init__(
            f"文件中 {len(records)} 条记录属于其他园区，整个文件未导入；企业迁入请确认后加 --move "
            f"(records of another park, file not imported; to move them here use --move): "
            f"{shown}{more}"
        )


class SourceError(ParkhubError):
    """A vendor source could not be reached or answered with an error (pull). The pull stops;
    what it gave before stays stored with its cursor, and the next sync resumes there."""


class TransientSourceError(SourceError):
    """Worth pulling again later: timeouts, connection errors, 5xx, 429, 'busy' business codes
    (after the adapter's own retries)."""


class PermanentSourceError(SourceError):
    """Pulling again will not help until someone fixes the config or the vendor side:
    credentials refused, a request the vendor rejects, a business error code."""


class MappingError(ParkhubError):
    """A mapping spec could not turn a canonical record into a payload."""

    def __init__(self, spec: str, target: str, record: str, reason: str) -> None:
        self.spec, self.target, self.record, self.reason = spec, target, record, reason
        super().__init__(f"mapping {spec}: field {target!r} for record {record}: {reason}")


class DeliveryError(ParkhubError):
    """Sending a payload to a platform failed."""

    transient: bool = False

    def __init__(
        self, message: str, *, code: str | None = None, http_status: int | None = None
    ) -> None:
        self.code = code
        self.http_status = http_status
        """The platform's HTTP status, where it answered over HTTP (the attempt history)."""
        super().__init__(message)


class TransientDeliveryError(DeliveryError):
    """Worth retrying later: timeouts, connection errors, 5xx, 429, 'busy' business codes."""

    transient = True


class PermanentDeliveryError(DeliveryError):
    """Retrying will not help until someone fixes data or config: 4xx, schema, business errors."""
