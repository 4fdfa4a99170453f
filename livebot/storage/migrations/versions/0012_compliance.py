"""compliance: per-session log, warn approvals, brand rules and their history

Revision ID: 0012_compliance
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import livebot.storage.base

revision = "0012_compliance"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = livebot.storage.base.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "compliance_events",
        sa.Column("id", BigId, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("surface", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_events")),
    )
    op.create_index("ix_compliance_events_session_at", "compliance_events", ["session_id", "at"])
    op.create_table(
        "compliance_approvals",
        sa.Column("id", BigId, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("card_id", BigId, nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_name", sa.String(length=100), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("requested_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_approvals")),
    )
    op.create_index("ix_compliance_approvals_card", "compliance_approvals", ["card_id", "text_hash"])
    op.create_table(
        "compliance_brand_rules",
        sa.Column("id", BigId, nullable=False),
        sa.Column("rule_id", sa.String(length=80), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("exceptions", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.String(length=500), nullable=False),
        sa.Column("rewording", sa.String(length=500), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_brand_rules")),
        sa.UniqueConstraint("rule_id", name=op.f("uq_compliance_brand_rules_rule_id")),
    )
    op.create_table(
        "compliance_brand_rule_history",
        sa.Column("id", BigId, nullable=False),
        sa.Column("rule_id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_brand_rule_history")),
    )
    op.create_index("ix_compliance_brand_rule_history_rule", "compliance_brand_rule_history", ["rule_id", "version"])


def downgrade() -> None:
    op.drop_index("ix_compliance_brand_rule_history_rule", table_name="compliance_brand_rule_history")
    op.drop_table("compliance_brand_rule_history")
    op.drop_table("compliance_brand_rules")
    op.drop_index("ix_compliance_approvals_card", table_name="compliance_approvals")
    op.drop_table("compliance_approvals")
    op.drop_index("ix_compliance_events_session_at", table_name="compliance_events")
    op.drop_table("compliance_events")
