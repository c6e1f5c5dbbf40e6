"""delivery_attempts: every try of a delivery, kept across replays

Revision ID: 0006_delivery_attempts
Revises: 0005
Create Date: 2026-12-01

The dispatcher writes a row per try (its time, outcome, HTTP status, error or receipt) in the
transaction that records the delivery's outcome; a replay adds a row naming who replayed it.
Replays reset the delivery's own attempt count (its retry budget), so before this table the
earlier tries were gone. Deliveries sent before the upgrade get no invented history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_delivery_attempts"
down_revision = "0005"
branch_labels = None
depends_on = None


# what the store's UTCDateTime and Id are in the database (the migration imports no model)
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "delivery_attempts",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("delivery_id", Id, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_kind", sa.String(length=16), nullable=True),
        sa.Column("receipt_id", sa.String(length=128), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    op.create_index("ix_delivery_attempts_delivery_id", "delivery_attempts", ["delivery_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_delivery_attempts_delivery_id", table_name="delivery_attempts")
    op.drop_table("delivery_attempts")
