"""Faults for a whole run: a layer in front of a platform simulator's report paths that meets a
share of the requests with a fault, and keeps the traffic a test checks limits against.

Every fault a platform can throw at a client, in one request path (`FaultLayer`):

- `500`, `502`, `503`, `429`: that HTTP status; the platform never looked at the request.
- `timeout`: nothing for `hang_seconds` (longer than the client waits), then 504.
- `reset`: the connection drops before the platform acted.
- `lost_answer`: the platform accepted the payload, then the connection dropped: the effect
  happened, the receipt never arrived.
- `slow`: the platform accepted, and answers after `slow_seconds` (within the client's
  patience).
- `busy`: HTTP 200 with the platform's transient business code.
- `business`: HTTP 200 with its permanent business code (someone must fix the data).
- `no_receipt`: the platform accepted, and answers success without a receipt number.
- `bad_receipt`: the platform accepted, and answers success with a receipt that is no
  receipt (an object).

Which request meets which fault is decided by `Chaos` from the seed, the request's idempotency
key and how many times that key came before, so a run can be repeated and a test can tell from
the simulator's log why a delivery ended as it did. A `doomed` share of keys always meets the
permanent business error.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

HTTP_MODES = ("500", "502", "503", "429")
BEFORE = (*HTTP_MODES, "timeout", "reset", "busy", "business")
"""Modes answered before the simulator sees the request."""
AFTER = ("lost_answer", "slow", "no_receipt", "bad_receipt")
"""Modes applied to the simulator's answer: the payload was accepted first."""
TRANSIENT = (*HTTP_MODES, "timeout", "reset", "lost_answer", "slow", "busy")
"""Faults a client gets over by sending again (the idempotency key makes it safe)."""
FAILING = tuple(m for m in TRANSIENT if m != "slow")
"""Transient faults that fail the request (a slow answer still arrives)."""
PERMANENT = ("business", "no_receipt", "bad_receipt")
"""Faults a person must look at: a client stops retrying (dead, one alert)."""
MODES = (*BEFORE, *AFTER)


class ConnectionDropped(Exception):
    """Raised after a response started: the server closes the connection mid-answer."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


@dataclass(frozen=True)
class Chaos:
    """Which requests meet a fault: `rate` of them, a mode drawn from `modes`; `doomed` of the
    idempotency keys meet the permanent business error every time, and `stuck` of them a
    transient fault every time (a client gives up after its retry cap)."""

    rate: float = 0.3
    modes: tuple[str, ...] = TRANSIENT
    seed: int = 0
    doomed: float = 0.0
    stuck: float = 0.0
    slow_seconds: float = 0.3
    hang_seconds: float = 30.0

    def __post_init__(self) -> None:
        unknown = set(self.modes) - set(MODES)
        if unknown:
            raise ValueError(f"unknown fault modes: {sorted(unknown)} (known: {MODES})")

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Chaos:
        values = dict(data)
        if "modes" in values:
            values["modes"] = tuple(values["modes"])
        return cls(**values)

    def pick(self, key: str, nth: int) -> str | None:
        """The fault of the `nth` request (from 0) carrying `key`, or None."""
        if self.doomed and random.Random(f"{self.seed}|{key}|doomed").random() < self.doomed:
            return "business"
        rng = random.Random(f"{self.seed}|{key}|{nth}")
        if self.stuck and random.Random(f"{self.seed}|{key}|stuck").random() < self.stuck:
            return rng.choice(FAILING)
        if rng.random() >= self.rate or not self.modes:
            return None
        return rng.choice(self.modes)


@dataclass
class Traffic:
    """What reached the report paths: when each request arrived, how many were in progress at
    most, and the faults met (per mode, and per idempotency key in order, None for none)."""

    arrivals: list[float] = field(default_factory=list)
    in_progress: int = 0
    max_in_progress: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    by_key: dict[str, list[str | None]] = field(default_factory=dict)

    def state(self) -> dict[str, Any]:
        return {
            "arrivals": list(self.arrivals),
            "max_in_progress": self.max_in_progress,
            "faults": dict(self.faults),
            "by_key": {k: list(v) for k, v in self.by_key.items()},
        }


class FaultLayer:
    """An ASGI layer in front of a simulator: report paths (`paths`) meet `chaos` and are
    counted; every other path (the sandbox endpoints, a token endpoint) passes untouched.

    `answer(code, message)` makes the simulator's business-code answer; `key_header` is where
    the idempotency key is; `receipt_at` the dotted path of the receipt in a success answer.
    """

    def __init__(
        self,
        app: App,
        *,
        paths: Sequence[str],
        answer: Callable[[Any, str], Any],
        busy: tuple[Any, str],
        business: tuple[Any, str],
        key_header: str,
        receipt_at: str,
    ) -> None:
        self.app = app
        self.paths = frozenset(paths)
        self.answer = answer
        self.busy = busy
        self.business = business
        self.key_header = key_header.lower().encode()
        self.receipt_at = receipt_at.split(".")
        self.chaos: Chaos | None = None
        self.traffic = Traffic()
        self.lock = threading.Lock()

    def set_chaos(self, chaos: Chaos | None) -> None:
        """Start (or with None, stop) meeting requests with faults."""
        with self.lock:
            self.chaos = chaos

    def state(self) -> dict[str, Any]:
        with self.lock:
            out = self.traffic.state()
            out["chaos"] = asdict(self.chaos) if self.chaos else None
            return out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        mode = self._arrive(scope)
        try:
            await self._handle(mode, scope, receive, send)
        finally:
            with self.lock:
                self.traffic.in_progress -= 1

    def _arrive(self, scope: Scope) -> str | None:
        key = next((v.decode() for k, v in scope["headers"] if k == self.key_header), "")
        with self.lock:
            t = self.traffic
            t.arrivals.append(time.time())
            t.in_progress += 1
            t.max_in_progress = max(t.max_in_progress, t.in_progress)
            if self.chaos is None:
                return None
            seen = t.by_key.setdefault(key, [])
            mode = self.chaos.pick(key, len(seen))
            seen.append(mode)
            if mode is not None:
                t.faults[mode] += 1
            return mode

    async def _handle(self, mode: str | None, scope: Scope, receive: Receive, send: Send) -> None:
        chaos = self.chaos
        if mode is None or chaos is None:
            await self.app(scope, receive, send)
        elif mode in HTTP_MODES:
            await _respond(send, int(mode), {"message": f"sandbox fault {mode}"})
        elif mode == "timeout":
            await asyncio.sleep(chaos.hang_seconds)
            await _respond(send, 504, {"message": "sandbox fault: late"})
        elif mode == "reset":
            await _drop(send)
        elif mode in ("busy", "business"):
            code, message = self.busy if mode == "busy" else self.business
            await _send_response(self.answer(code, message), scope, receive, send)
        else:
            await self._after(mode, chaos, scope, receive, send)

    async def _after(
        self, mode: str, chaos: Chaos, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Let the simulator accept the request, then spoil its answer as `mode` says."""
        start: Message = {}
        body = bytearray()

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                body.extend(message.get("body", b""))

        await self.app(scope, receive, keep)
        if mode == "lost_answer":
            await _drop(send)
            return
        if mode == "slow":
            await asyncio.sleep(chaos.slow_seconds)
            content = bytes(body)
        else:
            content = self._spoil_receipt(bytes(body), mode)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def _spoil_receipt(self, body: bytes, mode: str) -> bytes:
        try:
            answer = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body
        holder: Any = answer
        for part in self.receipt_at[:-1]:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and self.receipt_at[-1] in holder:
            if mode == "no_receipt":
                del holder[self.receipt_at[-1]]
            else:
                holder[self.receipt_at[-1]] = {"receipt": holder[self.receipt_at[-1]]}
        return orjson.dumps(answer)


async def _respond(send: Send, status: int, obj: Any) -> None:
    body = orjson.dumps(obj)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Send) -> None:
    """Start an answer and close the connection before its body: the client's read fails."""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    raise ConnectionDropped("sandbox fault: connection dropped")


async def _send_response(response: Any, scope: Scope, receive: Receive, send: Send) -> None:
    await response(scope, receive, send)
