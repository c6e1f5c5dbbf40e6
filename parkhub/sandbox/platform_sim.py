"""What the departmental platform simulators share: payload schemas, dedup on the idempotency key,
fault injection (`fail(mode, times)`, `outage(seconds)`, `delay_after_accept`) for retry tests,
faults for a whole run (`chaos`, parkhub.sandbox.faults) with the traffic they met, and the
sandbox endpoints (`GET /_sandbox/state`, `POST /_sandbox/fail`, `POST /_sandbox/chaos`)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any, ClassVar

import jsonschema
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .faults import Chaos, FaultLayer


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
    """Base of a simulator: subclasses give their routes, their answer shape (`answer`) and the
    protocol checks of `receive`.

    Fault modes every simulator knows: "503", "timeout" (sleeps `delay`, default 30 s, then
    504), "busy" (the platform's transient business code, `busy`) and "business" (a permanent
    one, `business`).
    """

    message_key: ClassVar[str] = "message"
    """The key of the message in a plain HTTP error body."""
    busy: ClassVar[tuple[Any, str]]
    """Business code and message answered in fault mode "busy"."""
    business: ClassVar[tuple[Any, str]]
    """Business code and message answered in fault mode "business"."""
    bad_payload: ClassVar[Any]
    """Business code of a body that is no JSON or fails the payload schema."""
    key_header: ClassVar[str]
    """The request header carrying the idempotency key."""
    receipt_at: ClassVar[str]
    """Dotted path of the receipt number in a success answer (spoiled by chaos faults)."""

    def __init__(
        self,
        paths: Mapping[str, str],
        schemas: Mapping[str, str],
        routes: Sequence[BaseRoute] = (),
    ) -> None:
        """`paths`: report -> the path `receive` serves it on; `schemas`: report -> payload
        schema under parkhub/schemas/platforms/; `routes`: any others (a token endpoint)."""
        self.report_at = {path: report for report, path in paths.items()}
        self.lock = threading.Lock()
        self.accepted: dict[str, Accepted] = {}  # idempotency key -> first acceptance
        self.requests = 0
        self.duplicates = 0
        self.rejections: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.outage_until = 0.0
        self.delay_after_accept = 0.0
        self.nonces: set[str] = set()
        self.validators = {report: schema_validator(path) for report, path in schemas.items()}
        inner = Starlette(
            routes=[
                *(Route(path, self.receive, methods=["POST"]) for path in self.report_at),
                *routes,
                Route("/_sandbox/state", self.state_http),
                Route("/_sandbox/fail", self.fail_http, methods=["POST"]),
                Route("/_sandbox/chaos", self.chaos_http, methods=["POST"]),
            ]
        )
        self.layer = FaultLayer(
            inner,
            paths=list(self.report_at),
            answer=self.answer,
            busy=self.busy,
            business=self.business,
            key_header=self.key_header,
            receipt_at=self.receipt_at,
        )
        self.app = self.layer

    async def receive(self, request: Request) -> Response:
        """Answer a report request (POST on one of `paths`)."""
        raise NotImplementedError

    def answer(self, code: Any, message: str, data: object = None) -> Response:
        """The platform's JSON answer (HTTP 200) with a business code."""
        raise NotImplementedError

    # -- faults -------------------------------------------------------------------------------

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

    async def interrupted(self) -> Response | None:
        """Count the request; the answer of an outage or of the next fault, else None."""
        self.requests += 1
        if self.in_outage():
            return json_response({self.message_key: "Service Unavailable (维护中)"}, 503)
        fault = self.next_fault()
        return None if fault is None else await self.fault_answer(fault)

    async def fault_answer(self, fault: Fault) -> Response | None:
        """The answer of an injected fault; None for a mode this simulator does not know."""
        if fault.mode == "503":
            return json_response({self.message_key: "Service Unavailable"}, 503)
        if fault.mode == "timeout":
            await asyncio.sleep(fault.delay or 30)
            return json_response({self.message_key: "late"}, 504)
        if fault.mode == "busy":
            return self.answer(*self.busy)
        if fault.mode == "business":
            return self.answer(*self.business)
        return None

    def chaos(self, chaos: Chaos | None) -> None:
        """Meet requests with faults from now on (parkhub.sandbox.faults); None: stop."""
        self.layer.set_chaos(chaos)

    async def chaos_http(self, request: Request) -> Response:
        """`{"rate": 0.3, "modes": [...], "seed": 1, "doomed": 0.01}` starts faults, `{}`
        stops them."""
        body = orjson.loads(await request.body() or b"{}")
        self.chaos(Chaos.of(body) if body else None)
        return json_response({"ok": True})

    async def fail_http(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        if "delay_after_accept" in body:
            self.delay_after_accept = float(body["delay_after_accept"])
        if "mode" in body:
            self.fail(str(body["mode"]), int(body.get("times", 1)), float(body.get("delay", 0)))
        return json_response({"ok": True})

    # -- payloads -----------------------------------------------------------------------------

    def refuse(self, code: Any, message: str) -> Response:
        """Record a refusal and answer it with a business code."""
        with self.lock:
            self.rejections.append({"code": code, "message": message})
        return self.answer(code, message)

    def first_use(self, nonce: str) -> bool:
        """Whether `nonce` is new (it is remembered): a signed request's nonce is used once."""
        with self.lock:
            if nonce in self.nonces:
                return False
            self.nonces.add(nonce)
            return True

    def payload_or_refusal(self, report: str, body: bytes) -> tuple[Any, Response | None]:
        """The JSON payload of `body`, and the refusal (`bad_payload`) when it is no JSON or
        fails the report's schema (the first violation named by its path)."""
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None, self.refuse(self.bad_payload, "请求体不是合法 JSON")
        error = jsonschema.exceptions.best_match(self.validators[report].iter_errors(payload))
        if error is None:
            return payload, None
        where = "/".join(str(p) for p in error.absolute_path) or "(payload)"
        return payload, self.refuse(self.bad_payload, f"数据校验失败: {where}: {error.message}")

    async def keyed_payload(self, request: Request, header: str) -> tuple[str, str, Any] | Response:
        """(idempotency key from `header`, report, payload) of a request; or the refusal
        (`bad_payload`) when the key is missing, the body no JSON or the payload off schema."""
        key = request.headers.get(header, "")
        if not key:
            return self.refuse(self.bad_payload, f"缺少 {header}")
        report = self.report_at[request.url.path]
        payload, refusal = self.payload_or_refusal(report, await request.body())
        return (key, report, payload) if refusal is None else refusal

    def accept(
        self,
        key: str,
        report: str,
        payload: Any,
        receipt: Callable[[], str],
        first_time: Callable[[], object] | None = None,
    ) -> tuple[Accepted, bool]:
        """Keep `payload` once per idempotency key: (the first acceptance, whether a repeat).
        `first_time` runs under the lock when the key is new (the simulator's own state)."""
        with self.lock:
            first = self.accepted.get(key)
            if first is not None:
                self.duplicates += 1
                return first, True
            first = Accepted(receipt(), key, report, payload)
            self.accepted[key] = first
            if first_time is not None:
                first_time()
            return first, False

    async def after_accept(self) -> None:
        """Hold the answer `delay_after_accept` seconds (a receipt lost in a crash)."""
        if self.delay_after_accept:
            await asyncio.sleep(self.delay_after_accept)

    # -- what the tests read ------------------------------------------------------------------

    def by_report(self, report: str) -> list[Accepted]:
        with self.lock:
            return [a for a in self.accepted.values() if a.report == report]

    def payloads(self, report: str) -> list[Any]:
        return [a.payload for a in self.by_report(report)]

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.requests,
                "duplicates": self.duplicates,
                "accepted": [
                    {
                        "receipt": a.receipt,
                        "key": a.key,
                        "report": a.report,
                        "payload": a.payload,
                        "at": a.at,
                    }
                    for a in self.accepted.values()
                ],
                "rejections": list(self.rejections),
                "traffic": self.layer.state(),
            }

    async def state_http(self, request: Request) -> Response:
        return json_response(self.state())
