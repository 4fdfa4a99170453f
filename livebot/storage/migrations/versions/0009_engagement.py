"""engagement: per-minute figures and stored post-session reports

Revision ID: 0009
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import livebot.storage.base

revision = "0009"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = livebot.storage.base.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "engagement_minutes",
        sa.Column("session_id", BigId, nullable=False),
        sa.Column("minute", UtcDateTime(timezone=True), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("site_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("segment_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("chatters", sa.Integer(), nullable=False),
        sa.Column("chatter_keys", sa.JSON(), nullable=False),
        sa.Column("visitors", sa.Integer(), nullable=False),
        sa.Column("visitor_keys", sa.JSON(), nullable=False),
        sa.Column("enters", sa.Integer(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.Column("gifts", sa.Integer(), nullable=False),
        sa.Column("gift_value", sa.Integer(), nullable=False),
        sa.Column("follows", sa.Integer(), nullable=False),
        sa.Column("shares", sa.Integer(), nullable=False),
        sa.Column("viewers_last", sa.Integer(), nullable=True),
        sa.Column("viewers_last_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("viewers_peak", sa.Integer(), nullable=True),
        sa.Column("viewers_samples", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("neutral", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("sentiment_sum", sa.Float(), nullable=False),
        sa.Column("sentiment_n", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.Integer(), nullable=False),
        sa.Column("merged", sa.Integer(), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("response_ms", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_engagement_minutes_session_id_sessions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "minute", "platform", "site_id", "segment_id",
                                name=op.f("pk_engagement_minutes")),
    )
    op.create_table(
        "engagement_reports",
        sa.Column("session_id", BigId, autoincrement=False, nullable=False),
        sa.Column("generated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("robot_status", sa.String(length=16), nullable=False),
        sa.Column("robot_error", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_engagement_reports_session_id_sessions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_engagement_reports")),
    )


def downgrade() -> None:
    op.drop_table("engagement_reports")
    op.drop_table("engagement_minutes")
