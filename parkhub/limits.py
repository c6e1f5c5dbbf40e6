"""What parkhub takes from outside, bounded: the limits an operator may tune (`limits:` in
parkhub.yaml) and the rate limiter the push receivers and the console's sign-in share.

Every limit has a default that a genuine vendor or operator never reaches; docs/operator-guide.md
lists them with what happens past each one.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

from pydantic import BaseModel, ConfigDict, Field

MiB = 1024 * 1024


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PushLimits(_Model):
    """What a push receiver reads, and what it keeps of the pushes it refuses."""

    body_bytes: int = Field(
        MiB,
        ge=1024,
        le=256 * MiB,
        description="largest push body a receiver reads (413 past it); a source may set its "
        "own `push_body_bytes`",
    )
    refused_prefix_bytes: int = Field(
        1024, ge=0, le=64 * 1024, description="bytes kept of a refused push's body"
    )
    refused_per_address: int = Field(
        10,
        ge=0,
        description="refused pushes kept per source and client address per window; the rest "
        "are counted, not kept",
    )
    refused_per_source: int = Field(
        100, ge=0, description="refused pushes kept per source per window, from all addresses"
    )
    refused_window_seconds: float = Field(3600.0, gt=0, le=86400 * 7)


class PlatformLimits(_Model):
    """What a platform can take. The rate and the concurrency cap hold across every worker
    sharing the database (parkhub.store.limits); the pause is each worker's own."""

    rate_per_second: float | None = Field(
        None, gt=0, description="requests a second at most (none: as fast as it answers)"
    )
    burst: int | None = Field(
        None, ge=1, description="requests at once after a quiet spell (default: one second's)"
    )
    max_concurrency: int | None = Field(
        None, ge=1, le=256, description="deliveries in flight at once at most"
    )
    pause_after_failures: int | None = Field(
        5,
        ge=1,
        description="consecutive temporary failures (timeouts, 5xx, busy) after which the "
        "platform is paused and probed with one delivery at a time, instead of spending every "
        "due delivery's attempts on an outage; none: never pause",
    )

    def bucket(self) -> float:
        """The bucket size: `burst`, else one second's worth (at least one request)."""
        if self.burst is not None:
            return float(self.burst)
        return max(1.0, float(self.rate_per_second or 1.0))


class EntryLimits(_Model):
    """What an operator's file (workbook or CSV) may hold; past a limit it is refused whole,
    with the limit named, before it is read further."""

    max_file_bytes: int = Field(
        20 * MiB, ge=1024, le=1024 * MiB, description="the file as uploaded or imported"
    )
    max_unpacked_bytes: int = Field(
        64 * MiB,
        ge=MiB,
        le=4096 * MiB,
        description="an .xlsx unpacked: all its parts together (checked before parsing)",
    )
    max_sheets: int = Field(50, ge=1, le=10_000, description="sheets in a workbook")
    max_rows: int = Field(
        50_000, ge=1, le=1_000_000, description="rows with data per file; a larger file is refused"
    )
    max_columns: int = Field(
        256, ge=16, le=16_384, description="columns with data per sheet (Excel has 16,384)"
    )
    max_cell_chars: int = Field(
        32_767, ge=256, le=1_000_000, description="characters in one cell (Excel's own limit)"
    )
    max_cells: int = Field(
        1_000_000,
        ge=1000,
        le=100_000_000,
        description="cells an .xlsx holds, all sheets together (each costs memory when read)",
    )
    max_merged_cells: int = Field(
        200_000, ge=1000, le=100_000_000, description="cells covered by merged ranges, per sheet"
    )


class Limits(_Model):
    """`limits:` in parkhub.yaml."""

    push: PushLimits = PushLimits()
    entry: EntryLimits = EntryLimits()
    body_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="a request body (a push, an upload) must arrive within this (408 after)",
    )
    upload_bytes: int = Field(
        21 * MiB,
        ge=MiB,
        le=1024 * MiB,
        description="largest request body of the console and the API (uploads with their "
        "multipart framing); push receivers have their own",
    )


def address_group(address: str | None) -> str:
    """The unit a client is limited by: an IPv4 address, or the /64 network of an IPv6 address
    (one host gets a whole /64, so limiting single IPv6 addresses would limit nothing)."""
    if not address:
        return "-"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class WindowLimit:
    """At most `count` events per key within any `seconds` (a sliding window: each key keeps the
    times of its last `count` events).

    Memory is bounded: at most `max_keys` keys are held. When the table is full, keys with no
    event inside the window (nothing worth keeping) are dropped; if there are none, a new key
    shares one overflow key with every other key that did not fit. Filling the table never
    resets what it holds.
    """

    OVERFLOW = ("<overflow>",)

    def __init__(
        self,
        count: int,
        seconds: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.count = count
        self.seconds = seconds
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._events: dict[Hashable, deque[float]] = {}
        self._pruned_at = float("-inf")

    def _recent(self, events: deque[float], now: float) -> deque[float]:
        while events and now - events[0] >= self.seconds:
            events.popleft()
        return events

    def _slot(self, key: Hashable, now: float) -> Hashable:
        """Where `key`'s events go: its own entry, or the overflow one when the table is full."""
        if key in self._events:
            return key
        if len(self._events) >= self.max_keys and now - self._pruned_at >= 1.0:
            self._prune(now)  # at most once a second: a table full of busy keys costs no scans
        return key if len(self._events) < self.max_keys else self.OVERFLOW

    def _prune(self, now: float) -> None:
        self._pruned_at = now
        idle = [k for k, e in self._events.items() if not self._recent(e, now)]
        for k in idle:
            del self._events[k]

    def _held(self, slot: Hashable, now: float) -> int:
        events = self._events.get(slot)
        return 0 if events is None else len(self._recent(events, now))

    def allows(self, key: Hashable, *, tracked_only: bool = False) -> bool:
        """Whether `key` may have one more event now (nothing is recorded). `tracked_only`: a
        key the table does not hold is allowed, also when the table is full."""
        with self._lock:
            now = self._clock()
            if tracked_only and key not in self._events:
                return True
            return self._held(self._slot(key, now), now) < self.count

    def add(self, key: Hashable) -> None:
        """Record an event of `key` (one that happened, allowed or not)."""
        if self.count <= 0:
            return
        with self._lock:
            now = self._clock()
            slot = self._slot(key, now)
            events = self._events.get(slot)
            if events is None:
                events = self._events[slot] = deque(maxlen=self.count)
            events.append(now)

    def hit(self, key: Hashable) -> bool:
        """Record an event of `key` if it is allowed; whether it was."""
        with self._lock:
            now = self._clock()
            slot = self._slot(key, now)
            if self._held(slot, now) >= self.count:
                return False
            events = self._events.get(slot)
            if events is None:
                events = self._events[slot] = deque(maxlen=self.count)
            events.append(now)
            return True

    def wait(self, key: Hashable) -> float:
        """Seconds until `key` may have one more event (0 when it may now)."""
        with self._lock:
            now = self._clock()
            slot = self._slot(key, now)
            if self._held(slot, now) < self.count:
                return 0.0
            return self._events[slot][0] + self.seconds - now

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._events.pop(key, None)

    def __len__(self) -> int:
        return len(self._events)
