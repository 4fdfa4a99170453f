"""faq knowledge base: entries, versions, proposed phrasings, dismissals

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25 10:40:00
"""

import sqlalchemy as sa
from alembic import op

import livebot.storage.base

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('faq_entries',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('needs_human', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_entries'))
    )
    op.create_index(op.f('ix_faq_entries_deleted'), 'faq_entries', ['deleted'], unique=False)
    op.create_table('faq_dismissals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('normalized', sa.Text(), nullable=False),
    sa.Column('times', sa.Integer(), nullable=False),
    sa.Column('dismissed_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_dismissals')),
    sa.UniqueConstraint('key', name=op.f('uq_faq_dismissals_key'))
    )
    op.create_table('faq_entry_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.Column('changed_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['faq_entries.id'], name=op.f('fk_faq_entry_versions_entry_id_faq_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_entry_versions')),
    sa.UniqueConstraint('entry_id', 'version', name=op.f('uq_faq_entry_versions_entry_id_version'))
    )
    op.create_table('faq_proposals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.String(length=100), nullable=False),
    sa.Column('phrasing', sa.Text(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('times', sa.Integer(), nullable=False),
    sa.Column('proposed_by', sa.String(length=64), nullable=False),
    sa.Column('event_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by', sa.String(length=64), nullable=False),
    sa.Column('reviewed_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['faq_entries.id'], name=op.f('fk_faq_proposals_entry_id_faq_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_proposals')),
    sa.UniqueConstraint('entry_id', 'key', name=op.f('uq_faq_proposals_entry_id_key'))
    )
    op.create_index('ix_faq_proposals_status_created', 'faq_proposals', ['status', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_faq_proposals_status_created', table_name='faq_proposals')
    op.drop_table('faq_proposals')
    op.drop_table('faq_entry_versions')
    op.drop_table('faq_dismissals')
    op.drop_index(op.f('ix_faq_entries_deleted'), table_name='faq_entries')
    op.drop_table('faq_entries')
