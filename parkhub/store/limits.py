"""What a platform may take, kept in the database so every worker sharing it keeps one limit:
a token bucket per platform (requests a second, bursts) and the number of its deliveries in
flight (a concurrency cap).

A claim for a limited platform (`Outbox.claim(..., gate=...)`) locks the platform's bucket row
for its transaction, so claims of one platform are serialized across workers: it takes only
as many rows as the cap leaves room for and as the bucket can pay for within `horizon`
seconds, and tells the dispatcher when each may go out (a reservation: the bucket may run
below zero into the horizon, so the i-th row waits until its token has dripped in). Every
worker reads the time from its own clock, as leases do: keep the machines' clocks in sync.

The table lives on `parkhub.store.schema.metadata`; migration 0008 creates it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import Column, Connection, Float, String, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from parkhub.canonical.timeutil import utcnow

from . import schema as t
from .db import Database
from .schema import UTCDateTime, metadata
from .status import DeliveryStatus as S

platform_limits = Table(
    "platform_limits",
    metadata,
    Column("platform", String(64), primary_key=True),
    Column("tokens", Float, nullable=False),  # may run below zero: reserved into the future
    Column("updated_at", UTCDateTime(), nullable=False),
)


@dataclass(frozen=True, slots=True)
class Limit:
    """What one platform takes, across all workers: `rate` requests a second in bursts of up to
    `burst`, and at most `concurrency` deliveries in flight at once; a claim takes what can be
    sent within `horizon` seconds."""

    rate: float | None = None
    burst: float = 1.0
    concurrency: int | None = None
    horizon: float = 1.0


class PlatformGate:
    """The limit of one platform for one claim (the `gate` of `Outbox.claim`): `room` before
    the rows are picked, `take` after, both inside the claim's transaction."""

    def __init__(self, db: Database, platform: str, limit: Limit) -> None:
        self.db = db
        self.platform = platform
        self.limit = limit
        self._tokens = 0.0
        self._now = utcnow()
        self.delays: list[float] = []
        """After `take`: seconds from the claim until each row claimed may be sent."""

    def room(self, conn: Connection) -> int:
        """How many rows the claim may take: lock the bucket, refill it, count in flight."""
        self._tokens, self._now = _locked_bucket(conn, self.db, self.platform, self.limit)
        room = math.inf
        lim = self.limit
        if lim.concurrency is not None:
            d = t.deliveries.c
            in_flight = conn.execute(
                select(func.count()).where(
                    d.platform == self.platform,
                    d.status == S.IN_FLIGHT,
                    d.lease_until >= self._now,
                )
            ).scalar_one()
            room = min(room, lim.concurrency - int(in_flight))
        if lim.rate is not None:
            room = min(room, math.floor(self._tokens + lim.rate * lim.horizon + 1e-9))
        return max(0, int(room)) if room != math.inf else 1 << 30

    def take(self, conn: Connection, used: int) -> None:
        """Pay for the `used` rows claimed; `delays` says when each may go out."""
        self.delays = _spend(conn, self.platform, self.limit, self._tokens, self._now, used)


def reserve_one(db: Database, platform: str, limit: Limit) -> float:
    """One more request (a quick retry within an attempt): seconds to wait before sending it."""
    if limit.rate is None:
        return 0.0
    with db.begin() as conn:
        tokens, now = _locked_bucket(conn, db, platform, limit)
        return _spend(conn, platform, limit, tokens, now, 1)[0]


def _locked_bucket(
    conn: Connection, db: Database, platform: str, limit: Limit
) -> tuple[float, dt.datetime]:
    """The platform's tokens now (refilled), its row locked until the transaction ends."""
    c = platform_limits.c
    now = utcnow()
    insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
    conn.execute(
        insert(platform_limits)
        .values(platform=platform, tokens=limit.burst, updated_at=now)
        .on_conflict_do_nothing()
    )
    tokens, updated = conn.execute(
        select(c.tokens, c.updated_at).where(c.platform == platform).with_for_update()
    ).one()
    if limit.rate is None:
        return float(tokens), now
    elapsed = max(0.0, (now - updated).total_seconds())
    return min(limit.burst, float(tokens) + limit.rate * elapsed), now


def _spend(
    conn: Connection, platform: str, limit: Limit, tokens: float, now: dt.datetime, used: int
) -> list[float]:
    if limit.rate is None:
        return [0.0] * used
    rate = limit.rate
    delays = [max(0.0, (i + 1 - tokens) / rate) for i in range(used)]
    c = platform_limits.c
    conn.execute(
        update(platform_limits)
        .where(c.platform == platform)
        .values(tokens=tokens - used, updated_at=now)
    )
    return delays
