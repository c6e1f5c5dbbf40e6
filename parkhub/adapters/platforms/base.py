"""The platform contract: a destination (the provincial platform or a department's system).

A Platform declares the reports it takes (ReportSpec) and sends one mapped payload, returning a
Receipt or raising a DeliveryError classified transient or permanent.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic

import httpx
from pydantic import BaseModel

from parkhub.adapters.common import ConfigT, HttpOwner
from parkhub.canonical import Record, jsonutil
from parkhub.canonical.timeutil import utcnow
from parkhub.errors import PermanentDeliveryError, TransientDeliveryError


@dataclass(frozen=True, slots=True)
class Receipt:
    """The platform's acknowledgement: its id for what it accepted, and whether it was a repeat."""

    receipt_id: str
    duplicate: bool = False
    detail: Mapping[str, Any] = field(default_factory=dict)
    received_at: dt.datetime = field(default_factory=utcnow)


RecordFilter = Mapping[str, Collection[str]]
"""{dotted field path: accepted values (compared as text)}."""


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """One report a platform takes: which canonical records feed it and how they are mapped."""

    record_kind: str
    mapping: str
    """Mapping spec file name in parkhub/mappings/specs/."""
    schema: str | None = None
    """Payload JSON Schema path under parkhub/schemas/platforms/."""
    priority: int = 100
    """Lower goes first: fire alarms use 0."""
    description: str = ""
    when: RecordFilter | tuple[RecordFilter, ...] | None = None
    """Only records matching this filter, e.g. `{"event_kind": ("hidden_danger", "incident")}`:
    {dotted field path: accepted values}, every path must match; a tuple of filters takes a
    record matching any of them. None (the default) takes every record of `record_kind`."""

    def accepts(self, record: Mapping[str, Any] | Record) -> bool:
        """Whether a record (its document or the record itself) goes to this report."""
        if self.when is None:
            return True
        clauses = (self.when,) if isinstance(self.when, Mapping) else self.when
        return any(
            all(_matches(_field_text(record, path), values) for path, values in clause.items())
            for clause in clauses
        )


def _matches(text: str | None, values: Collection[str]) -> bool:
    return text == values if isinstance(values, str) else text in values


def _field_text(record: Mapping[str, Any] | Record, path: str) -> str | None:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
        if value is None:
            return None
    return str(value)


class Platform(HttpOwner, abc.ABC, Generic[ConfigT]):
    """A destination: the provincial platform or a department's system."""

    _timeout: ClassVar[float] = 10.0

    name: ClassVar[str]
    """Registry name used in parkhub.yaml (`type: provincial`)."""
    config_model: ClassVar[type[BaseModel]]
    reports: ClassVar[Mapping[str, ReportSpec]]
    """The reports this platform takes, by name."""

    def __init__(self, config: ConfigT, *, http: httpx.Client | None = None) -> None:
        self.config = config
        self._http = http

    @abc.abstractmethod
    def send(self, report: str, payload: Mapping[str, Any], idempotency_key: str) -> Receipt:
        """Deliver one payload. Raise TransientDeliveryError or PermanentDeliveryError."""


# -- HTTP outcomes, shared by the JSON platforms --------------------------------------------


def post_json(
    client: httpx.Client,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    platform: str,
) -> httpx.Response:
    """POST; connection problems and timeouts become TransientDeliveryError."""
    try:
        return client.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.TimeoutException as exc:
        raise TransientDeliveryError(f"{platform}: 超时 (timeout: {type(exc).__name__})") from None
    except httpx.TransportError as exc:
        raise TransientDeliveryError(f"{platform}: 连接失败 (connection failed: {exc})") from None


def classify_http(response: httpx.Response, platform: str) -> None:
    """5xx, 429 and 408 are transient; any other non-2xx is permanent."""
    status = response.status_code
    if 200 <= status < 300:
        return
    snippet = response.text[:300]
    message = f"{platform}: HTTP {status}: {snippet}"
    if status >= 500 or status in (408, 425, 429):
        raise TransientDeliveryError(message, code=str(status))
    raise PermanentDeliveryError(message, code=str(status))


def json_answer(response: httpx.Response, platform: str) -> dict[str, Any]:
    """Classify the HTTP status, then the body must be a JSON object (else transient: a proxy
    or gateway page in front of the platform)."""
    classify_http(response, platform)
    try:
        answer = jsonutil.loads(response.content)
    except jsonutil.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        raise TransientDeliveryError(
            f"{platform}: 应答不是JSON对象 (response is not a JSON object: {response.text[:200]!r})"
        )
    return answer
