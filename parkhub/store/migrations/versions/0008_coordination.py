"""job_runs and platform_limits: what workers sharing one database agree on

Revision ID: 0008_coordination
Revises: 0007_data_quality
Create Date: 2026-12-03

job_runs: which period of each scheduled job has run, so a job fires once per period however
many workers run (parkhub.store.jobs). platform_limits: a token bucket per platform, so a rate
limit holds across workers (parkhub.store.limits). Both start empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_coordination"
down_revision = "0007_data_quality"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=128), nullable=False),
        sa.Column("period", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job", "period", name=op.f("pk_job_runs")),
    )
    op.create_table(
        "platform_limits",
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", name=op.f("pk_platform_limits")),
    )


def downgrade() -> None:
    op.drop_table("platform_limits")
    op.drop_table("job_runs")
