"""What the departmental platform simulators share: payload schemas, dedup on the idempotency key,
and fault injection (`fail(mode, times)`, `outage(seconds)`) for retry tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import jsonschema
import orjson
from starlette.responses import Response


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status_code=status, media_type="application/json")


def schema_validator(path: str) -> Any:
    """A validator for `parkhub/schemas/platforms/<path>`."""
    schema = orjson.loads((files("parkhub") / "schemas" / "platforms" / path).read_bytes())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@dataclass
class Fault:
    mode: str
    remaining: int
    delay: float = 0.0


@dataclass
class Accepted:
    receipt: str
    key: str
    report: str
    payload: Any
    at: float = field(default_factory=time.time)


class PlatformSim:
    """Base of a simulator: subclasses add the Starlette app and the protocol checks."""

    def __init__(self, schemas: Mapping[str, str]) -> None:
        self.lock = threading.Lock()
        self.accepted: dict[str, Accepted] = {}  # idempotency key -> first acceptance
        self.requests = 0
        self.duplicates = 0
        self.rejections: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.outage_until = 0.0
        self.validators = {report: schema_validator(path) for report, path in schemas.items()}

    def fail(self, mode: str, times: int = 1, delay: float = 0.0) -> None:
        """Make the next `times` requests fail with `mode` (see each simulator)."""
        with self.lock:
            self.faults.append(Fault(mode, times, delay))

    def outage(self, seconds: float) -> None:
        """Answer 503 to everything for the next `seconds`."""
        self.outage_until = time.time() + seconds

    def in_outage(self) -> bool:
        return time.time() < self.outage_until

    def next_fault(self) -> Fault | None:
        with self.lock:
            while self.faults and self.faults[0].remaining <= 0:
                self.faults.pop(0)
            if not self.faults:
                return None
            self.faults[0].remaining -= 1
            return self.faults[0]

    def by_report(self, report: str) -> list[Accepted]:
        with self.lock:
            return [a for a in self.accepted.values() if a.report == report]

    def payloads(self, report: str) -> list[Any]:
        return [a.payload for a in self.by_report(report)]

    def schema_error(self, report: str, payload: Any) -> str | None:
        """The first schema violation of `payload`, named by its path, or None."""
        error = jsonschema.exceptions.best_match(self.validators[report].iter_errors(payload))
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path) or "(payload)"
        return f"{where}: {error.message}"

    def reject(self, reason: dict[str, Any]) -> None:
        with self.lock:
            self.rejections.append(reason)

    def accept(
        self, key: str, report: str, payload: Any, receipt: Callable[[], str]
    ) -> tuple[Accepted, bool]:
        """Keep `payload` once per idempotency key: (the first acceptance, whether a repeat)."""
        with self.lock:
            first = self.accepted.get(key)
            if first is not None:
                self.duplicates += 1
                return first, True
            first = Accepted(receipt(), key, report, payload)
            self.accepted[key] = first
            return first, False

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.requests,
                "duplicates": self.duplicates,
                "accepted": [
                    {"receipt": a.receipt, "key": a.key, "report": a.report, "payload": a.payload}
                    for a in self.accepted.values()
                ],
                "rejections": list(self.rejections),
            }
