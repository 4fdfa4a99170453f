"""trace: EPCIS event content hash (409 on a changed resend) and the retracted flag of error declarations

Existing events get no hash (a resend of them is a plain duplicate); stored error declarations
and the events they declared are marked retracted.

Revision ID: 0012_epcis
Revises: 0004b
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_epcis"
down_revision = "0004b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trace_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("retracted", sa.Boolean(), nullable=False, server_default=sa.false()))
    # error declarations already stored (id "<declared id>#error") and the events they declared
    op.execute("UPDATE trace_events SET retracted = true WHERE event_id LIKE '%#error'")
    op.execute("UPDATE trace_events SET retracted = true WHERE event_id || '#error' IN "
               "(SELECT event_id FROM trace_events WHERE event_id LIKE '%#error')")


def downgrade() -> None:
    with op.batch_alter_table("trace_events", schema=None) as batch_op:
        batch_op.drop_column("retracted")
        batch_op.drop_column("content_hash")
