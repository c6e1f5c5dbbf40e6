"""deliveries.idempotency_key may be empty until the delivery is first claimed

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

The key is derived from the columns that make a delivery unique (parkhub.store.keys). SQLite
ingest leaves it to the first claim, which stores it before anything is sent, rather than
hashing it for every outbox row at ingest (docs/performance.md); readers derive it for a row
still waiting. PostgreSQL keeps computing it on the server at ingest. Downgrading fills in
the keys of the rows still waiting.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from parkhub.store.keys import idempotency_key

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 5000

deliveries = sa.table(
    "deliveries",
    sa.column("id", sa.Integer),
    sa.column("record_kind", sa.String),
    sa.column("record_key", sa.String),
    sa.column("revision", sa.Integer),
    sa.column("platform", sa.String),
    sa.column("report", sa.String),
    sa.column("mapping_version", sa.String),
    sa.column("idempotency_key", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("idempotency_key", existing_type=sa.String(64), nullable=True)


def downgrade() -> None:
    conn = op.get_bind()
    d = deliveries.c
    while True:
        rows = conn.execute(
            sa.select(
                d.id, d.record_kind, d.record_key, d.revision, d.platform, d.report,
                d.mapping_version,
            )
            .where(d.idempotency_key.is_(None))
            .limit(BATCH)
        ).all()  # fmt: skip
        if not rows:
            break
        conn.execute(
            deliveries.update()
            .where(d.id == sa.bindparam("did"))
            .values(idempotency_key=sa.bindparam("key")),
            [{"did": r[0], "key": idempotency_key(*r[1:])} for r in rows],
        )
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("idempotency_key", existing_type=sa.String(64), nullable=False)
