"""console: question cards and asks, audit trail, reply outbox, per-session sequence

Revision ID: 0005
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import livebot.storage.base

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_seqs',
    sa.Column('session_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_console_seqs'))
    )
    op.create_table('question_cards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('group_key', sa.String(length=200), nullable=False),
    sa.Column('group_reason', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('faq_id', sa.String(length=100), nullable=True),
    sa.Column('suggestions', sa.JSON(), nullable=False),
    sa.Column('needs_human', sa.Boolean(), nullable=False),
    sa.Column('complaint', sa.Boolean(), nullable=False),
    sa.Column('ask_count', sa.Integer(), nullable=False),
    sa.Column('askers', sa.JSON(), nullable=False),
    sa.Column('platforms', sa.JSON(), nullable=False),
    sa.Column('site_ids', sa.JSON(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=True),
    sa.Column('first_asked_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_asked_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_by_name', sa.String(length=128), nullable=False),
    sa.Column('claimed_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('escalated_by', sa.String(length=64), nullable=False),
    sa.Column('escalate_note', sa.String(length=255), nullable=False),
    sa.Column('answered_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.String(length=64), nullable=True),
    sa.Column('answered_by_name', sa.String(length=128), nullable=False),
    sa.Column('answer_text', sa.Text(), nullable=True),
    sa.Column('answer_mode', sa.String(length=16), nullable=False),
    sa.Column('reply_status', sa.String(length=16), nullable=False),
    sa.Column('reply_error', sa.String(length=500), nullable=False),
    sa.Column('dismissed_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('dismissed_by', sa.String(length=64), nullable=False),
    sa.Column('featured', sa.Boolean(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('created_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question_cards'))
    )
    with op.batch_alter_table('question_cards', schema=None) as batch_op:
        batch_op.create_index('ix_question_cards_session_group', ['session_id', 'group_key'], unique=False)
        batch_op.create_index('ix_question_cards_session_status', ['session_id', 'status'], unique=False)

    op.create_table('console_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('actor_name', sa.String(length=128), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['question_cards.id'], name=op.f('fk_console_audit_card_id_question_cards'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_audit'))
    )
    with op.batch_alter_table('console_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_audit_card_id'), ['card_id'], unique=False)
        batch_op.create_index('ix_console_audit_session_at', ['session_id', 'at'], unique=False)

    op.create_table('console_outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target', sa.JSON(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_try', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('created_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['question_cards.id'], name=op.f('fk_console_outbox_card_id_question_cards'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_outbox'))
    )
    with op.batch_alter_table('console_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_outbox_card_id'), ['card_id'], unique=False)
        batch_op.create_index('ix_console_outbox_status_next', ['status', 'next_try'], unique=False)

    op.create_table('question_asks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('asked_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('first_answer_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.String(length=64), nullable=True),
    sa.Column('faq_id', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['question_cards.id'], name=op.f('fk_question_asks_card_id_question_cards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['chat_events.id'], name=op.f('fk_question_asks_event_id_chat_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question_asks')),
    sa.UniqueConstraint('event_id', name=op.f('uq_question_asks_event_id'))
    )
    with op.batch_alter_table('question_asks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_asks_card_id'), ['card_id'], unique=False)
        batch_op.create_index('ix_question_asks_session_asked', ['session_id', 'asked_at'], unique=False)


def downgrade() -> None:
    op.drop_table("question_asks")
    op.drop_table("console_outbox")
    op.drop_table("console_audit")
    op.drop_table("question_cards")
    op.drop_table("console_seqs")
