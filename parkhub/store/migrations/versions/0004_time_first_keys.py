"""time-series keys: measurement and environmental_data keys lead with their event time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

The key `device|metric|...|2026-10-01T00:00:00+00:00` becomes
`2026-10-01T00:00:00+00:00|device|metric|...`: the time moves from the end to the front, so a
batch of readings lands at one edge of the (kind, key) index (docs/performance.md). The
deliveries' copies of the key follow. Idempotency keys already issued are left as they are:
they were sent and must stay what the platforms saw.

Those kinds are then found by key range, so the (park, kind, ts) index leaves them out, and
on PostgreSQL keys take the "C" collation (byte order, whatever the database's locale).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KINDS = ("measurement", "environmental_data")
BATCH = 5000

records = sa.table(
    "records",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("key", sa.String),
)
deliveries = sa.table(
    "deliveries",
    sa.column("record_id", sa.Integer),
    sa.column("record_kind", sa.String),
    sa.column("record_key", sa.String),
)


def _is_time(text: str) -> bool:
    # what datetime.isoformat() gives for an aware UTC time: 2026-10-01T00:00:00[.ffffff]+00:00
    return len(text) >= 25 and text[4] == "-" and text[10] == "T" and text.endswith("+00:00")


def time_first(key: str) -> str:
    """`a|b|TIME` -> `TIME|a|b`; a key already time-first is returned as it is."""
    head, sep, last = key.rpartition("|")
    if not sep or not _is_time(last) or _is_time(key.partition("|")[0]):
        return key
    return f"{last}|{head}"


def time_last(key: str) -> str:
    first, sep, rest = key.partition("|")
    if not sep or not _is_time(first):
        return key
    return f"{rest}|{first}"


def _rewrite(change: Callable[[str], str]) -> None:
    conn = op.get_bind()
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(records.c.id, records.c.key)
            .where(records.c.kind.in_(KINDS), records.c.id > last_id)
            .order_by(records.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        updates = [{"rid": rid, "new_key": new} for rid, key in rows if (new := change(key)) != key]
        if updates:
            conn.execute(
                records.update()
                .where(records.c.id == sa.bindparam("rid"))
                .values(key=sa.bindparam("new_key")),
                updates,
            )
        last_id = rows[-1][0]
    owner = sa.select(records.c.id).where(records.c.id == deliveries.c.record_id)
    conn.execute(
        deliveries.update()
        .where(deliveries.c.record_kind.in_(KINDS), owner.exists())
        .values(
            record_key=sa.select(records.c.key)
            .where(records.c.id == deliveries.c.record_id)
            .scalar_subquery()
        )
    )


_INDEX = "ix_records_park_kind_ts"
_COLUMNS = ["park_id", "kind", "ts"]
_PARTIAL = sa.text("kind NOT IN ('measurement', 'environmental_data')")


def _key_collation(collation: str | None) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "records",
            "key",
            type_=sa.String(255, collation=collation),
            existing_nullable=False,
        )


def upgrade() -> None:
    _key_collation("C")
    _rewrite(time_first)
    with op.batch_alter_table("records") as batch:
        batch.drop_index(_INDEX)
        batch.create_index(_INDEX, _COLUMNS, sqlite_where=_PARTIAL, postgresql_where=_PARTIAL)


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.drop_index(_INDEX)
        batch.create_index(_INDEX, _COLUMNS)
    _rewrite(time_last)
    _key_collation(None)
