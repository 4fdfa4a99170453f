"""engagement: the platforms' own figures per session, imported from their exports

Revision ID: 0011_platform_totals
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

import livebot.storage.base

revision = "0011_platform_totals"
down_revision = "0009"
branch_labels = None
depends_on = None

UtcDateTime = livebot.storage.base.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "engagement_platform_totals",
        sa.Column("session_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=255), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("imported_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "platform", name=op.f("pk_engagement_platform_totals")),
    )


def downgrade() -> None:
    op.drop_table("engagement_platform_totals")
