"""Tables: raw_inbox, records, deliveries (the outbox) and their attempts, cursors, audit.
Alembic migrates them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

from parkhub.canonical.models import TIME_SERIES_KEYS
from parkhub.canonical.timeutil import UTC


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC in Python; timestamptz on PostgreSQL, naive UTC text on SQLite (sorts right)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        parsed: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")
MAX_ID = 2**63 - 1
"""The largest id the 64-bit id columns hold."""


def possible_ids(ids: Iterable[int]) -> list[int]:
    """The ids of `ids` a row can have: an id past 64 bits (typed into a URL or the CLI) names
    no row, rather than failing the query with an overflow."""
    return [i for i in ids if 0 < i <= MAX_ID]


raw_inbox = Table(
    "raw_inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),
    Column("stream", String(64), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("body_hash", String(32), nullable=False),
    # received -> parsed | partial (some records failed) | rejected (refused or unparseable)
    Column("status", String(16), nullable=False),
    Column("reason", Text),
    Column("errors", Text),  # JSON list of {record, field, reason}
    Column("record_count", Integer, nullable=False, default=0),
    Column("parse_attempts", Integer, nullable=False, default=0),
    Column("parsed_at", UTCDateTime()),
    Column("meta", Text),  # JSON: client ip, request id; never credentials
    UniqueConstraint("source", "body_hash"),
)
Index("ix_raw_inbox_status", raw_inbox.c.source, raw_inbox.c.status)

records = Table(
    "records",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    # Keys are identifiers compared byte by byte: on PostgreSQL the "C" collation, so that
    # time-first keys sort by time whatever the database's locale (SQLite's default: binary)
    Column(
        "key", String(255).with_variant(String(255, collation="C"), "postgresql"), nullable=False
    ),
    Column("park_id", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("content_hash", String(32), nullable=False),
    # event time of events, for period queries; empty for time-series kinds (TIME_SERIES_KEYS),
    # whose key starts with it
    Column("ts", UTCDateTime()),
    Column("doc", Text, nullable=False),
    Column("source", String(64), nullable=False),
    Column("raw_id", Id),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("kind", "key"),
)
# Period queries of the kinds whose key does not start with the time (events); time-series
# kinds (TIME_SERIES_KEYS) are found by key range in the (kind, key) index instead, which
# saves an index entry per reading (docs/performance.md).
# A literal predicate: a query uses a partial index only when its WHERE clause repeats it.
NOT_TIME_SERIES = text("kind NOT IN ({})".format(", ".join(f"'{k}'" for k in TIME_SERIES_KEYS)))
Index(
    "ix_records_park_kind_ts",
    records.c.park_id,
    records.c.kind,
    records.c.ts,
    sqlite_where=NOT_TIME_SERIES,
    postgresql_where=NOT_TIME_SERIES,
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("record_id", Id, nullable=False),
    Column("record_kind", String(32), nullable=False),
    Column("record_key", String(255), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("park_id", String(64), nullable=False),
    Column("platform", String(64), nullable=False),
    Column("report", String(64), nullable=False),
    Column("mapping_version", String(32), nullable=False),
    # derived from the unique columns (store/keys.py); SQLite stores it at the first claim
    Column("idempotency_key", String(64)),
    Column("correction", Integer, nullable=False, default=0),
    # pending -> in_flight -> sent | failed (retry at next_attempt_at) | dead | superseded
    Column("status", String(16), nullable=False),
    Column("priority", Integer, nullable=False, default=100),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", UTCDateTime()),
    Column("payload", Text),
    Column("payload_hash", String(32)),
    Column("last_error", Text),
    Column("error_kind", String(16)),  # transient | permanent
    Column("receipt_id", String(128)),
    Column("receipt", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    # The idempotency key is derived from exactly these columns, so this one index makes both
    # unique; it also serves "deliveries of this record" (supersede, corrections).
    UniqueConstraint("record_id", "platform", "report", "revision", "mapping_version"),
)
# Claims (status, then platform, priority and age) and per-platform status counts.
Index(
    "ix_deliveries_due",
    deliveries.c.status,
    deliveries.c.platform,
    deliveries.c.priority,
    deliveries.c.next_attempt_at,
)

# Every try of a delivery (migration 0006): written with the delivery's outcome, in the same
# transaction, and kept across replays, which reset the delivery's own count.
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("delivery_id", Id, nullable=False),
    Column("attempt", Integer, nullable=False),  # the delivery's count at this try (0: a replay)
    Column("at", UTCDateTime(), nullable=False),
    # sent | failed | dead | superseded; replayed (an operator queued it again: `actor`)
    Column("outcome", String(16), nullable=False),
    Column("http_status", Integer),
    Column("error", Text),
    Column("error_kind", String(16)),
    Column("receipt_id", String(128)),
    Column("actor", String(64)),  # the dispatcher (host:pid), or who replayed it
)
Index("ix_delivery_attempts_delivery_id", delivery_attempts.c.delivery_id, delivery_attempts.c.id)

cursors = Table(
    "cursors",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("stream", String(64), primary_key=True),
    Column("value", Text),
    Column("updated_at", UTCDateTime(), nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", Text),
)
Index("ix_audit_at", audit.c.at)
