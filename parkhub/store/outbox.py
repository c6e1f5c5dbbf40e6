"""The outbox: one delivery per record revision × platform report × mapping version.

Dispatchers claim due rows under an expiring lease, record a receipt or a failure, and the rows
keep everything an operator needs to see what reached whom: status, attempts, last error and
its class, the payload sent and the receipt. Dead rows are replayable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select, update

from parkhub.canonical import jsonutil
from parkhub.canonical.timeutil import utcnow

from . import schema as t
from .attempts import Attempts
from .audit import Audit
from .db import Database
from .keys import IDEMPOTENCY_KEY_SQL, KEY_COLUMNS, with_key
from .limits import PlatformGate
from .records import IN_CHUNK
from .status import DeliveryStatus as S

MARK_SENT = (
    f"UPDATE deliveries SET status = '{S.SENT}', payload = :payload, "
    "payload_hash = :payload_hash, receipt_id = :receipt_id, receipt = :receipt, "
    "sent_at = :now, updated_at = :now, lease_owner = NULL, lease_until = NULL, "
    "last_error = NULL, error_kind = NULL "
    f"WHERE id = :id AND lease_owner = :owner AND status = '{S.IN_FLIGHT}'"
)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed by a dispatcher, with the record revision it carries."""

    id: int
    record_id: int
    record_kind: str
    record_key: str
    revision: int
    park_id: str
    platform: str
    report: str
    mapping_version: str
    idempotency_key: str
    correction: bool
    attempts: int
    doc: dict[str, Any]
    current_revision: int


@dataclass(frozen=True, slots=True)
class Sent:
    """A receipt to record: the delivery, the payload sent and what the platform answered."""

    delivery_id: int
    payload: str
    receipt_id: str
    receipt: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    """Which deliveries a listing or a replay takes; every field given must match."""

    status: Sequence[str] | None = None
    platform: str | None = None
    park_id: str | None = None
    park_ids: Sequence[str] | None = None
    """Any of these parks; an empty list matches nothing (a user with no parks sees none)."""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    error_contains: str | None = None
    ids: Sequence[int] | None = None
    record_kind: str | None = None
    record_keys: Sequence[str] | None = None
    """Deliveries of these records (of `record_kind`, when given)."""

    def where(self) -> list[Any]:
        d = t.deliveries.c
        conds: list[Any] = []
        if self.status:
            conds.append(d.status.in_([str(s) for s in self.status]))
        if self.platform:
            conds.append(d.platform == self.platform)
        if self.park_id:
            conds.append(d.park_id == self.park_id)
        if self.park_ids is not None:
            conds.append(d.park_id.in_(list(self.park_ids)))
        if self.since:
            conds.append(d.updated_at >= self.since)
        if self.until:
            conds.append(d.updated_at < self.until)
        if self.error_contains:
            conds.append(d.last_error.contains(self.error_contains, autoescape=True))
        if self.ids:
            conds.append(d.id.in_(t.possible_ids(self.ids)))
        if self.record_kind:
            conds.append(d.record_kind == self.record_kind)
        if self.record_keys is not None:
            conds.append(d.record_key.in_(list(self.record_keys)))
        return conds

    def describe(self) -> dict[str, Any]:
        """The filter as the audit log keeps it."""
        out: dict[str, Any] = {
            "platform": self.platform,
            "park": self.park_id,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "error": self.error_contains,
            "ids": list(self.ids) if self.ids else None,
        }
        if self.status:
            out["status"] = [str(x) for x in self.status]
        if self.park_ids is not None:
            out["parks"] = list(self.park_ids)
        return out


LISTED = (
    "id", "park_id", "platform", "report", "record_kind", "record_key", "revision", "correction",
    "status", "attempts", "last_error", "error_kind", "receipt_id", "created_at", "updated_at",
    "sent_at", "next_attempt_at",
)  # fmt: skip
"""The columns of a brief listing: what a delivery is and how far it got, without the payload,
the receipt and the lease."""
_RANK = {status: n for n, status in enumerate(S)}  # the enum's order: sent first, superseded last
_CLAIMED_COLUMNS = (
    "id", "record_id", "record_kind", "record_key", "revision", "park_id", "platform", "report",
    "mapping_version", "idempotency_key", "correction", "attempts",
)  # fmt: skip


def _claimed(r: Any) -> Claimed:
    return Claimed(
        id=r[0],
        record_id=r[1],
        record_kind=r[2],
        record_key=r[3],
        revision=r[4],
        park_id=r[5],
        platform=r[6],
        report=r[7],
        mapping_version=r[8],
        idempotency_key=r[9],
        correction=bool(r[10]),
        attempts=r[11],
        doc=jsonutil.loads(r[12]),
        current_revision=r[13],
    )


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.audit = Audit(db)
        self.history = Attempts(db)

    # -- dispatch ---------------------------------------------------------------------------

    def claim(
        self,
        owner: str,
        *,
        limit: int = 100,
        lease_seconds: float = 60.0,
        platforms: Sequence[str] | None = None,
        max_priority: int | None = None,
        gate: PlatformGate | None = None,
    ) -> list[Claimed]:
        """Claim due deliveries (pending, failed and due, or in flight with an expired lease).

        PostgreSQL: FOR UPDATE SKIP LOCKED, so many workers claim disjoint rows. SQLite: the
        BEGIN IMMEDIATE write lock makes the claim single-writer. A `gate` (one platform's
        limits, parkhub.store.limits) bounds the claim inside the same transaction.
        """
        now = utcnow()
        d = t.deliveries.c
        due = or_(
            and_(d.status.in_((S.PENDING, S.FAILED)), d.next_attempt_at <= now),
            and_(d.status == S.IN_FLIGHT, d.lease_until < now),
        )
        pick = select(d.id).where(due)
        if platforms is not None:
            pick = pick.where(d.platform.in_(list(platforms)))
        if max_priority is not None:
            pick = pick.where(d.priority <= max_priority)
        pick = pick.order_by(d.priority, d.next_attempt_at, d.id).limit(limit)
        pick = pick.with_for_update(skip_locked=True)
        claimed: dict[str, Any] = {
            "status": S.IN_FLIGHT,
            "lease_owner": owner,
            "lease_until": now + dt.timedelta(seconds=lease_seconds),
            "attempts": d.attempts + 1,
            "updated_at": now,
        }
        if self.db.dialect == "sqlite":  # the key is stored before anything is sent with it
            derived = getattr(func, IDEMPOTENCY_KEY_SQL)(*(d[c] for c in KEY_COLUMNS))
            claimed["idempotency_key"] = func.coalesce(d.idempotency_key, derived)
        rc = t.records.c
        with self.db.begin() as conn:
            if gate is not None:
                room = gate.room(conn)
                if room < limit:
                    pick = pick.limit(room)
                ids = [r[0] for r in conn.execute(pick)] if room > 0 else []
                gate.take(conn, len(ids))
            else:
                ids = [r[0] for r in conn.execute(pick)]
            if not ids:
                return []
            conn.execute(update(t.deliveries).where(d.id.in_(ids)).values(claimed))
            rows = conn.execute(
                select(*(d[c] for c in _CLAIMED_COLUMNS), rc.doc, rc.revision)
                .join(t.records, rc.id == d.record_id)
                .where(d.id.in_(ids))
                .order_by(d.priority, d.next_attempt_at, d.id)
            ).all()
        return [_claimed(r) for r in rows]

    def mark_sent(self, conn: Connection, owner: str, sent: Sequence[Sent]) -> int:
        """Record receipts, one prepared statement for all; how many were recorded. A row whose
        lease was lost (another worker took it over) is left to its new owner."""
        if not sent:
            return 0
        now = self.db.time(utcnow())
        rows = [
            {
                "payload": s.payload,
                "payload_hash": jsonutil.bytes_hash(s.payload.encode()),
                "receipt_id": s.receipt_id,
                "receipt": jsonutil.dumps_str(s.receipt),
                "now": now,
                "id": s.delivery_id,
                "owner": owner,
            }
            for s in sent
        ]
        cursor = self.db.cursor(conn)
        cursor.executemany(self.db.sql(MARK_SENT), rows)
        return int(cursor.rowcount)

    def mark_failed(
        self,
        conn: Connection,
        delivery_id: int,
        owner: str,
        *,
        error: str,
        transient: bool,
        next_attempt_at: dt.datetime | None,
        payload: str | None = None,
    ) -> S:
        """Failed: retried at next_attempt_at, or dead when it is None. The new status."""
        d = t.deliveries.c
        status = S.FAILED if next_attempt_at is not None else S.DEAD
        values: dict[str, Any] = {
            "status": status,
            "last_error": error[:2000],
            "error_kind": "transient" if transient else "permanent",
            "next_attempt_at": next_attempt_at or utcnow(),
            "updated_at": utcnow(),
            "lease_owner": None,
            "lease_until": None,
        }
        if payload is not None:
            values["payload"] = payload
            values["payload_hash"] = jsonutil.bytes_hash(payload.encode())
        conn.execute(
            update(t.deliveries)
            .where(d.id == delivery_id, d.lease_owner == owner, d.status == S.IN_FLIGHT)
            .values(**values)
        )
        return status

    def release(self, conn: Connection, ids: Sequence[int], owner: str, until: dt.datetime) -> None:
        """Give claimed rows back unsent (their platform paused): the claim's attempt is not
        counted, and they are due again at `until`."""
        d = t.deliveries.c
        conn.execute(
            update(t.deliveries)
            .where(d.id.in_(list(ids)), d.lease_owner == owner, d.status == S.IN_FLIGHT)
            .values(
                status=case((d.attempts <= 1, S.PENDING), else_=S.FAILED),
                attempts=d.attempts - 1,
                next_attempt_at=until,
                lease_owner=None,
                lease_until=None,
                updated_at=utcnow(),
            )
        )

    def mark_superseded(self, conn: Connection, delivery_id: int, owner: str) -> None:
        d = t.deliveries.c
        conn.execute(
            update(t.deliveries)
            .where(d.id == delivery_id, d.lease_owner == owner)
            .values(status=S.SUPERSEDED, lease_owner=None, lease_until=None, updated_at=utcnow())
        )

    def first_sent_revisions(
        self, keys: Iterable[tuple[int, str, str]]
    ) -> dict[tuple[int, str, str], int]:
        """The lowest revision delivered, per (record id, platform, report) that has one."""
        d = t.deliveries.c
        wanted = set(keys)
        out: dict[tuple[int, str, str], int] = {}
        ids = sorted({k[0] for k in wanted})
        with self.db.connect() as conn:
            for start in range(0, len(ids), IN_CHUNK):
                rows = conn.execute(
                    select(d.record_id, d.platform, d.report, func.min(d.revision))
                    .where(d.record_id.in_(ids[start : start + IN_CHUNK]), d.status == S.SENT)
                    .group_by(d.record_id, d.platform, d.report)
                )
                for record_id, platform, report, revision in rows:
                    if (record_id, platform, report) in wanted:
                        out[(record_id, platform, report)] = int(revision)
        return out

    # -- status, listing, replay ------------------------------------------------------------

    def best_status(
        self, platform: str, report: str, kind: str, keys: Sequence[str]
    ) -> dict[str, S]:
        """Per record key, the best status of its deliveries to one platform report (sent
        beats in flight beats pending ...): how far each record of a period got."""
        d = t.deliveries.c
        out: dict[str, S] = {}
        with self.db.connect() as conn:
            for start in range(0, len(keys), IN_CHUNK):
                rows = conn.execute(
                    select(d.record_key, d.status)
                    .where(
                        d.platform == platform,
                        d.report == report,
                        d.record_kind == kind,
                        d.record_key.in_(keys[start : start + IN_CHUNK]),
                    )
                    .group_by(d.record_key, d.status)
                ).all()
                for key, status in rows:
                    found = S(status)
                    if key not in out or _RANK[found] < _RANK[out[key]]:
                        out[key] = found
        return out

    def status_counts(self, *, park_id: str | None = None) -> dict[str, dict[str, int]]:
        """Deliveries per platform and status (of one park's records, with `park_id`)."""
        d = t.deliveries.c
        q = select(d.platform, d.status, func.count()).group_by(d.platform, d.status)
        if park_id is not None:
            q = q.where(d.park_id == park_id)
        with self.db.connect() as conn:
            rows = conn.execute(q).all()
        out: dict[str, dict[str, int]] = {}
        for platform, status, n in rows:
            out.setdefault(platform, {})[status] = int(n)
        return out

    def status_counts_by_park(self) -> dict[str, dict[str, dict[str, int]]]:
        """`status_counts` of every park at once: {park: {platform: {status: n}}}, one scan."""
        d = t.deliveries.c
        q = select(d.park_id, d.platform, d.status, func.count()).group_by(
            d.park_id, d.platform, d.status
        )
        out: dict[str, dict[str, dict[str, int]]] = {}
        with self.db.connect() as conn:
            for park_id, platform, status, n in conn.execute(q):
                out.setdefault(park_id, {}).setdefault(platform, {})[status] = int(n)
        return out

    def deliveries(
        self,
        where: DeliveryFilter | None = None,
        *,
        limit: int = 200,
        brief: bool = False,
        **filters: Any,
    ) -> list[dict[str, Any]]:
        """Deliveries, newest first, each with its idempotency key: a DeliveryFilter or its
        fields as keywords. `brief`: only the LISTED columns (no payload, receipt, lease or
        key), for a listing that may run to a thousand rows."""
        where = where or DeliveryFilter(**filters)
        d = t.deliveries.c
        columns = [d[c] for c in LISTED] if brief else [t.deliveries]
        q = select(*columns).where(*where.where()).order_by(d.id.desc()).limit(limit)
        with self.db.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        return rows if brief else [with_key(r) for r in rows]

    def last_sent(self, park_id: str) -> dict[str, dict[str, Any]]:
        """Per platform, the park's most recent successful delivery: its id, report, record
        key, revision, receipt id and when it was sent."""
        d = t.deliveries.c
        latest = (
            select(func.max(d.id).label("id"))
            .where(d.park_id == park_id, d.status == S.SENT)
            .group_by(d.platform)
            .subquery()
        )
        q = select(
            d.platform, d.id, d.report, d.record_key, d.revision, d.receipt_id, d.sent_at
        ).join(latest, d.id == latest.c.id)
        with self.db.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        return {row.pop("platform"): row for row in rows}

    def count(self, where: DeliveryFilter | None = None, **filters: Any) -> int:
        """How many deliveries match (what a replay would take, before it takes them)."""
        where = where or DeliveryFilter(**filters)
        q = select(func.count()).select_from(t.deliveries).where(*where.where())
        with self.db.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def attempts(self, delivery_id: int) -> list[dict[str, Any]]:
        """Every try of a delivery (time, outcome, HTTP status, error, receipt) and every
        replay, oldest first: kept across replays."""
        return self.history.of(delivery_id)

    def replay(
        self,
        *,
        actor: str,
        where: DeliveryFilter | None = None,
        statuses: Sequence[str] = (S.DEAD,),
        **filters: Any,
    ) -> int:
        """Put matching dead deliveries back in the queue (same idempotency key), audited; the
        attempt history keeps their earlier tries and names who replayed them."""
        where = where or DeliveryFilter(**filters)
        now = utcnow()
        only = replace(where, status=statuses)
        d = t.deliveries.c
        with self.db.begin() as conn:
            ids = [r[0] for r in conn.execute(select(d.id).where(*only.where()))]
            self.history.add_replayed(conn, ids, actor)
            count = 0
            for start in range(0, len(ids), IN_CHUNK):
                res = conn.execute(
                    update(t.deliveries)
                    .where(d.id.in_(ids[start : start + IN_CHUNK]))
                    .values(status=S.PENDING, attempts=0, next_attempt_at=now, updated_at=now)
                )
                count += int(res.rowcount)
            self.audit.add(conn, actor, "replay", {**where.describe(), "count": count})
        return count

    def retry_now(self, *, actor: str, where: DeliveryFilter | None = None, **filters: Any) -> int:
        """Failed deliveries waiting for their next attempt: due now (their count kept), audited."""
        where = where or DeliveryFilter(**filters)
        now = utcnow()
        only = replace(where, status=(S.FAILED,))
        with self.db.begin() as conn:
            res = conn.execute(
                update(t.deliveries).where(*only.where()).values(next_attempt_at=now)
            )
            count = int(res.rowcount)
            self.audit.add(conn, actor, "retry_now", {**where.describe(), "count": count})
        return count
