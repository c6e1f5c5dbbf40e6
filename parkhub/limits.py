"""What parkhub takes from outside, bounded: the limits an operator may tune (`limits:` in
parkhub.yaml) and the rate limiter the push receivers and the console's sign-in share.

Every limit has a default that a genuine vendor or operator never reaches; docs/operator-guide.md
lists them with what happens past each one.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

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
    max_merged_cells: int = Field(
        1_000_000, ge=1000, le=100_000_000, description="cells covered by merged ranges, per sheet"
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


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class Buckets:
    """Token buckets by key: each key may spend `capacity` at once, refilled at `capacity` per
    `per_seconds`. Memory is bounded: at most `max_keys` keys are held. When the table is full,
    keys whose bucket has refilled (no state worth keeping) are dropped; if none has, a new key
    shares one overflow bucket, so filling the table never resets what the table holds."""

    OVERFLOW = ("<overflow>",)

    def __init__(
        self,
        capacity: float,
        per_seconds: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(capacity)
        self.rate = float(capacity) / per_seconds if per_seconds > 0 else float("inf")
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[Hashable, _Bucket] = {}
        self._pruned_at = float("-inf")

    def _refilled(self, bucket: _Bucket, now: float) -> _Bucket:
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        return bucket

    def _bucket(self, key: Hashable, now: float, *, create: bool) -> _Bucket | None:
        bucket = self._buckets.get(key)
        if bucket is not None:
            return self._refilled(bucket, now)
        if not create:
            return None
        if len(self._buckets) >= self.max_keys and now - self._pruned_at >= 1.0:
            self._prune(now)  # at most once a second: a full table of busy keys costs no scans
        if len(self._buckets) >= self.max_keys:
            overflow = self._buckets.get(self.OVERFLOW)
            if overflow is None:  # the overflow bucket may go past max_keys by one
                overflow = self._buckets[self.OVERFLOW] = _Bucket(self.capacity, now)
            return self._refilled(overflow, now)
        bucket = self._buckets[key] = _Bucket(self.capacity, now)
        return bucket

    def _prune(self, now: float) -> None:
        self._pruned_at = now
        buckets = self._buckets.items()
        refilled = [k for k, b in buckets if self._refilled(b, now).tokens >= self.capacity]
        for k in refilled:
            del self._buckets[k]

    def take(self, key: Hashable, amount: float = 1.0) -> bool:
        """Spend `amount` from `key`'s bucket; False (and nothing spent) when it has not enough."""
        with self._lock:
            bucket = self._bucket(key, self._clock(), create=True)
            assert bucket is not None
            if bucket.tokens < amount:
                return False
            bucket.tokens -= amount
            return True

    def spend(self, key: Hashable, amount: float = 1.0) -> None:
        """Spend from `key`'s bucket even past empty (a failure that already happened)."""
        with self._lock:
            bucket = self._bucket(key, self._clock(), create=True)
            assert bucket is not None
            bucket.tokens = max(bucket.tokens - amount, -self.capacity)

    def available(self, key: Hashable, amount: float = 1.0, *, tracked_only: bool = False) -> bool:
        """Whether `key` could spend `amount` now (nothing is spent). A key the table does not
        hold has its whole capacity, unless the table is full and the overflow bucket is empty
        (not with `tracked_only`: then an untracked key is always available)."""
        with self._lock:
            now = self._clock()
            bucket = self._bucket(key, now, create=False)
            if bucket is None:
                if tracked_only or len(self._buckets) < self.max_keys:
                    return True
                overflow = self._buckets.get(self.OVERFLOW)
                return overflow is None or self._refilled(overflow, now).tokens >= amount
            return bucket.tokens >= amount

    def wait(self, key: Hashable, amount: float = 1.0) -> float:
        """Seconds until `key` could spend `amount` (0 when it can now)."""
        with self._lock:
            bucket = self._bucket(key, self._clock(), create=False)
            if bucket is None or bucket.tokens >= amount:
                return 0.0
            return (amount - bucket.tokens) / self.rate

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._buckets.pop(key, None)

    def __len__(self) -> int:
        return len(self._buckets)
