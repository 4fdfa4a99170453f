"""chat: per-source state (sync cursors) beside the core chat_events table

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import livebot.storage.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_state",
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source_id", "key", name=op.f("pk_source_state")),
    )


def downgrade() -> None:
    op.drop_table("source_state")
