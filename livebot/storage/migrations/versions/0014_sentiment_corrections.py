"""engagement: advisors' sentiment corrections per chat message (training input for the learned model)

Revision ID: 0014_sentiment_corrections
Revises: 0011_platform_totals
"""

import sqlalchemy as sa
from alembic import op

import livebot.storage.base

revision = "0014_sentiment_corrections"
down_revision = "0011_platform_totals"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = livebot.storage.base.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "engagement_sentiment_corrections",
        sa.Column("message_id", BigId, autoincrement=False, nullable=False),
        sa.Column("session_id", BigId, nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("model_label", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("corrected_by", sa.String(length=64), nullable=False),
        sa.Column("corrected_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_engagement_sentiment_corrections_session_id_sessions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_engagement_sentiment_corrections")),
    )
    op.create_index(op.f("ix_engagement_sentiment_corrections_session_id"), "engagement_sentiment_corrections", ["session_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_engagement_sentiment_corrections_session_id"), table_name="engagement_sentiment_corrections")
    op.drop_table("engagement_sentiment_corrections")
