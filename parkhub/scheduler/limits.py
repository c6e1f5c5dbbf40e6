"""Back-pressure: what each platform can take, as the dispatcher keeps to it.

- **Rate and concurrency** (`limits.rate_per_second`, `burst`, `max_concurrency` in
  parkhub.yaml): a claim for a limited platform takes only what the platform's bucket can pay
  for within a second and what its cap leaves room for, counted in the database, so the limit
  holds across every worker sharing it (parkhub.store.limits); each row claimed carries the
  moment it may go out, and a quick retry pays for its own token.
- **Pause** (`limits.pause_after_failures`): after that many temporary failures in a row
  (timeouts, connection errors, 5xx, busy codes) a worker stops sending to the platform and
  gives back what it claimed unsent (its attempt not counted); when the pause is over it sends
  one delivery (a probe): an answer resumes the platform, another failure doubles the pause
  (from the retry policy's `base_seconds` up to its `max_backoff_seconds`). A day-long outage
  thus costs a few attempts in all, not every delivery's ten, and nothing dies of it. The pause
  is each worker's own: every worker probes for itself.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from parkhub.canonical.timeutil import utcnow
from parkhub.errors import DeliveryError
from parkhub.store import Claimed, Limit, PlatformGate, Store

from .platforms import PlatformRuntime


class Paused(Exception):
    """The platform paused while a delivery was being retried: give it back unsent."""


@dataclass
class Pause:
    """One platform's pause, as one worker sees it."""

    after: int | None
    base: float
    cap: float
    failures: int = 0
    until: float = 0.0  # time.monotonic(); 0: not paused
    length: float = 0.0
    probing: bool = False

    def want(self, now: float, batch: int) -> int:
        """How many rows a claim may take now: all of a batch, one (the probe) or none."""
        if not self.until:
            return batch
        if now < self.until or self.probing:
            return 0
        self.probing = True
        return 1

    def held(self, now: float, probe: bool) -> bool:
        """Whether a claimed row must go back unsent (the platform paused since the claim)."""
        return bool(self.until) and (now < self.until or (self.probing and not probe))

    def record(self, now: float, error: DeliveryError | None) -> None:
        if error is None or not error.transient:  # an answer: the platform is there
            self.failures, self.until, self.length, self.probing = 0, 0.0, 0.0, False
            return
        self.failures += 1
        if self.probing or (
            not self.until and self.after is not None and self.failures >= self.after
        ):
            self.length = min(self.cap, self.length * 2 if self.length else self.base)
            self.until, self.probing = now + self.length, False


class Limits:
    """The limits of the platforms one dispatcher sends to (shared by its fast lane)."""

    def __init__(self, store: Store, platforms: Mapping[str, PlatformRuntime]) -> None:
        self.store = store
        self._limits: dict[str, Limit] = {}
        self._pauses: dict[str, Pause] = {}
        self._probes: set[int] = set()
        self._lock = threading.Lock()
        for name, rt in platforms.items():
            cfg = rt.limits
            if cfg.rate_per_second is not None or cfg.max_concurrency is not None:
                self._limits[name] = Limit(cfg.rate_per_second, cfg.bucket(), cfg.max_concurrency)
            self._pauses[name] = Pause(
                cfg.pause_after_failures, rt.retry.base_seconds, rt.retry.max_backoff_seconds
            )

    def claim(
        self,
        owner: str,
        names: Sequence[str],
        *,
        batch: int,
        lease_seconds: float,
        max_priority: int | None,
    ) -> tuple[list[Claimed], dict[int, float]]:
        """Claim due deliveries of `names` within their limits: the rows, and for each row
        that must wait its turn the time.monotonic() before which it is not sent."""
        now = time.monotonic()
        free: list[str] = []
        limited: list[tuple[str, int, bool]] = []
        with self._lock:
            for name in names:
                pause = self._pauses.get(name)
                want = pause.want(now, batch) if pause is not None else batch
                probe = pause is not None and pause.probing
                if want == 0:
                    continue
                if probe or name in self._limits:
                    limited.append((name, want, probe))
                else:
                    free.append(name)

        def claim(platforms: list[str], limit: int, gate: PlatformGate | None) -> list[Claimed]:
            return self.store.outbox.claim(
                owner,
                limit=limit,
                lease_seconds=lease_seconds,
                platforms=platforms,
                max_priority=max_priority,
                gate=gate,
            )

        rows = claim(free, batch, None) if free else []
        turns: dict[int, float] = {}
        for name, want, probe in limited:
            limit = self._limits.get(name)
            gate = self.store.gate(name, limit) if limit is not None else None
            got = claim([name], want, gate)
            if probe:
                with self._lock:
                    self._probes.update(c.id for c in got)
                    if not got:
                        self._pauses[name].probing = False
            if gate is not None:
                turns.update((c.id, now + d) for c, d in zip(got, gate.delays, strict=True) if d)
            rows += got
        return rows, turns

    def hold(self, c: Claimed) -> dt.datetime | None:
        """When a claimed row must go back unsent (its platform paused): when it is due."""
        pause = self._pauses.get(c.platform)
        if pause is None:
            return None
        now = time.monotonic()
        with self._lock:
            if not pause.held(now, c.id in self._probes):
                return None
            return utcnow() + dt.timedelta(seconds=max(0.0, pause.until - now))

    def wait_turn(self, turn: float | None) -> None:
        """Sleep until a row's turn (its token dripped into the bucket)."""
        if turn is not None:
            delay = turn - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def before_retry(self, c: Claimed) -> None:
        """A quick retry pays for its token; raise Paused when the platform paused meanwhile
        (the row then goes back unsent)."""
        platform = c.platform
        pause = self._pauses.get(platform)
        with self._lock:
            if pause is not None and pause.held(time.monotonic(), c.id in self._probes):
                raise Paused(platform)
        limit = self._limits.get(platform)
        if limit is not None and limit.rate is not None:
            time.sleep(self.store.reserve_one(platform, limit))

    def record(self, c: Claimed, error: DeliveryError | None) -> None:
        """Feed a send's outcome to the platform's pause."""
        pause = self._pauses.get(c.platform)
        if pause is None:
            return
        with self._lock:
            self._probes.discard(c.id)
            pause.record(time.monotonic(), error)

    def paused(self) -> dict[str, float]:
        """The platforms this worker has paused, with the seconds left."""
        now = time.monotonic()
        with self._lock:
            return {n: p.until - now for n, p in self._pauses.items() if p.until > now}
