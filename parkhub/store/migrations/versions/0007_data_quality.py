"""data quality: findings of the quality rules, records held for review, field sources

Revision ID: 0007_data_quality
Revises: 0006_delivery_attempts
Create Date: 2026-12-02

Three new tables, nothing existing changes: `quality_findings` (what a rule said about a
record), `quality_holds` (records a `hold` keeps out of every outbox until a reviewer decides)
and `record_sources` (which source set each field of a merged record, and the values lower
sources sent that were not taken). Self-contained: its own table definitions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import parkhub.store.schema

revision = "0007_data_quality"
down_revision = "0006_delivery_attempts"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, parkhub.store.schema.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "quality_findings",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("park_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("raw_id", _ID, nullable=True),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("hold_id", _ID, nullable=True),
        _at("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_findings")),
        sa.UniqueConstraint(
            "raw_id",
            "kind",
            "key",
            "rule",
            "field",
            name=op.f("uq_quality_findings_raw_id_kind_key_rule_field"),
        ),
    )
    with op.batch_alter_table("quality_findings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quality_findings_park_id", ["park_id", "created_at"], unique=False
        )
    op.create_table(
        "quality_holds",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("park_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("raw_id", _ID, nullable=True),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("incoming", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _at("created_at"),
        _at("decided_at", nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_holds")),
        sa.UniqueConstraint("raw_id", "kind", "key", name=op.f("uq_quality_holds_raw_id_kind_key")),
    )
    with op.batch_alter_table("quality_holds", schema=None) as batch_op:
        batch_op.create_index("ix_quality_holds_status", ["status", "park_id"], unique=False)
        batch_op.create_index("ix_quality_holds_kind", ["kind", "key"], unique=False)
    op.create_table(
        "record_sources",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "key",
            sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("park_id", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("conflicts", sa.Text(), nullable=True),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_record_sources")),
    )
    with op.batch_alter_table("record_sources", schema=None) as batch_op:
        batch_op.create_index("ix_record_sources_park_id", ["park_id", "kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("record_sources", schema=None) as batch_op:
        batch_op.drop_index("ix_record_sources_park_id")
    op.drop_table("record_sources")
    with op.batch_alter_table("quality_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_quality_holds_kind")
        batch_op.drop_index("ix_quality_holds_status")
    op.drop_table("quality_holds")
    with op.batch_alter_table("quality_findings", schema=None) as batch_op:
        batch_op.drop_index("ix_quality_findings_park_id")
    op.drop_table("quality_findings")
