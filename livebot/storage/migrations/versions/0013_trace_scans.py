"""trace: can scans per batch, minute and region (counts only)

Revision ID: 0013_trace_scans
Revises: 0004b
"""

import sqlalchemy as sa
from alembic import op

import livebot.storage.base

revision = "0013_trace_scans"
down_revision = "0004b"
branch_labels = None
depends_on = None

UtcDateTime = livebot.storage.base.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "trace_scans",
        sa.Column("lot", sa.String(length=20), nullable=False),
        sa.Column("minute", UtcDateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("scans", sa.Integer(), nullable=False),
        sa.Column("clients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("lot", "minute", "region", name=op.f("pk_trace_scans")),
    )


def downgrade() -> None:
    op.drop_table("trace_scans")
