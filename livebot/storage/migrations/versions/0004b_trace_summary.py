"""trace: the stored public batch summary (ready JSON bytes for the Digital Link resolver)

Existing batches get no summary; the resolver builds theirs on the spot until the server's
start-up pass (livebot.trace.summaries.restamp) has stored them.

Revision ID: 0004b
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004b"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trace_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("summary_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trace_batches", schema=None) as batch_op:
        batch_op.drop_column("summary_key")
        batch_op.drop_column("summary")
