"""trace: herds, ingredient and feed lots, health events; herd, milking group, feed and withheld animals of raw milk

Merges the two trace heads (0012_epcis, 0013_trace_scans).

Revision ID: 0014_trace_chain
Revises: 0012_epcis, 0013_trace_scans
"""

import sqlalchemy as sa
from alembic import op

import livebot.storage.base

revision = "0014_trace_chain"
down_revision = ("0012_epcis", "0013_trace_scans")
branch_labels = None
depends_on = None

UtcDateTime = livebot.storage.base.UtcDateTime
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "trace_herds",
        sa.Column("herd_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("farm", sa.String(length=128), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("breed", sa.String(length=128), nullable=False),
        sa.Column("feed_plan", sa.String(length=128), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("herd_id", name=op.f("pk_trace_herds")),
    )
    op.create_table(
        "trace_materials",
        sa.Column("lot", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("supplier", sa.String(length=128), nullable=False),
        sa.Column("origin", sa.String(length=128), nullable=False),
        sa.Column("received_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lot", name=op.f("pk_trace_materials")),
    )
    op.create_table(
        "trace_health",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("event_pk", BigId, nullable=False),
        sa.Column("herd", sa.String(length=255), nullable=False),
        sa.Column("animal", sa.String(length=64), nullable=False),
        sa.Column("treatment", sa.String(length=128), nullable=False),
        sa.Column("start", UtcDateTime(timezone=True), nullable=False),
        sa.Column("withdrawal_until", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["event_pk"], ["trace_events.id"], name=op.f("fk_trace_health_event_pk_trace_events"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_health")),
    )
    op.create_index(op.f("ix_trace_health_event_pk"), "trace_health", ["event_pk"], unique=False)
    op.create_index(op.f("ix_trace_health_herd"), "trace_health", ["herd"], unique=False)
    with op.batch_alter_table("trace_raw_lots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("herd", sa.String(length=255), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("milking_group", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("feed_lots", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("withheld", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trace_raw_lots", schema=None) as batch_op:
        batch_op.drop_column("withheld")
        batch_op.drop_column("feed_lots")
        batch_op.drop_column("milking_group")
        batch_op.drop_column("herd")
    op.drop_index(op.f("ix_trace_health_herd"), table_name="trace_health")
    op.drop_index(op.f("ix_trace_health_event_pk"), table_name="trace_health")
    op.drop_table("trace_health")
    op.drop_table("trace_materials")
    op.drop_table("trace_herds")
