"""overlays: per-session overlay state and hashed overlay tokens

Revision ID: 0007
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import livebot.storage.base

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = livebot.storage.base.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "overlay_states",
        sa.Column("session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_overlay_states_session_id_sessions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_overlay_states")),
    )
    op.create_table(
        "overlay_tokens",
        sa.Column("id", BigId, nullable=False),
        sa.Column("session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_overlay_tokens_session_id_sessions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overlay_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_overlay_tokens_token_hash")),
    )
    with op.batch_alter_table("overlay_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_overlay_tokens_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("overlay_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_overlay_tokens_session_id"))
    op.drop_table("overlay_tokens")
    op.drop_table("overlay_states")
