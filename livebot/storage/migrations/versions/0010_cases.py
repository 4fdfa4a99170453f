"""cases: follow-up cases, their history and the viewers behind them

Revision ID: 0010_cases
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import livebot.storage.base

revision = "0010_cases"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = livebot.storage.base.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "followup_cases",
        sa.Column("id", BigId, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("card_id", sa.BigInteger(), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("viewers", sa.JSON(), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=True),
        sa.Column("can_code", sa.String(length=128), nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("owner_name", sa.String(length=128), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("auto", sa.Boolean(), nullable=False),
        sa.Column("due_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_cases")),
        sa.UniqueConstraint("card_id", name=op.f("uq_followup_cases_card_id")),
    )
    op.create_index("ix_followup_cases_status_due", "followup_cases", ["status", "due_at"], unique=False)
    op.create_index("ix_followup_cases_lot_category", "followup_cases", ["lot", "category"], unique=False)
    op.create_table(
        "followup_case_events",
        sa.Column("id", BigId, nullable=False),
        sa.Column("case_id", BigId, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=128), nullable=False),
        sa.Column("at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["followup_cases.id"], name=op.f("fk_followup_case_events_case_id_followup_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_case_events")),
    )
    op.create_index(op.f("ix_followup_case_events_case_id"), "followup_case_events", ["case_id"], unique=False)
    op.create_table(
        "followup_case_contacts",
        sa.Column("case_id", BigId, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.Column("last_seen", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["followup_cases.id"], name=op.f("fk_followup_case_contacts_case_id_followup_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id", "source", "channel", "user_id", name=op.f("pk_followup_case_contacts")),
    )
    op.create_index("ix_followup_case_contacts_who", "followup_case_contacts", ["source", "channel", "user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_followup_case_contacts_who", table_name="followup_case_contacts")
    op.drop_table("followup_case_contacts")
    op.drop_index(op.f("ix_followup_case_events_case_id"), table_name="followup_case_events")
    op.drop_table("followup_case_events")
    op.drop_index("ix_followup_cases_lot_category", table_name="followup_cases")
    op.drop_index("ix_followup_cases_status_due", table_name="followup_cases")
    op.drop_table("followup_cases")
