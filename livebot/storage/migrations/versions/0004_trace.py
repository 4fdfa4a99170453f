"""trace: products, batches, raw-milk lots, inspections, EPCIS events, readings, telemetry, session batches

Revision ID: 0004
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import livebot.storage.base

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('trace_batch_sources',
    sa.Column('batch_lot', sa.String(length=20), nullable=False),
    sa.Column('source_lot', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('batch_lot', 'source_lot', name=op.f('pk_trace_batch_sources'))
    )
    with op.batch_alter_table('trace_batch_sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trace_batch_sources_source_lot'), ['source_lot'], unique=False)

    op.create_table('trace_batches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot', sa.String(length=20), nullable=False),
    sa.Column('lot_key', sa.String(length=20), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('production_date', sa.Date(), nullable=True),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('plant', sa.String(length=128), nullable=False),
    sa.Column('line', sa.String(length=64), nullable=False),
    sa.Column('can_code', sa.String(length=32), nullable=True),
    sa.Column('processing_start', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('chain', sa.JSON(), nullable=True),
    sa.Column('updated_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trace_batches')),
    sa.UniqueConstraint('can_code', name=op.f('uq_trace_batches_can_code')),
    sa.UniqueConstraint('lot', name=op.f('uq_trace_batches_lot'))
    )
    with op.batch_alter_table('trace_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trace_batches_gtin'), ['gtin'], unique=False)
        batch_op.create_index(batch_op.f('ix_trace_batches_lot_key'), ['lot_key'], unique=False)

    op.create_table('trace_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=True),
    sa.Column('biz_step', sa.String(length=255), nullable=True),
    sa.Column('disposition', sa.String(length=255), nullable=True),
    sa.Column('event_time', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('tz_offset', sa.String(length=6), nullable=False),
    sa.Column('read_point', sa.String(length=255), nullable=False),
    sa.Column('biz_location', sa.String(length=255), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('recorded_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trace_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_trace_events_event_id'))
    )
    with op.batch_alter_table('trace_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trace_events_event_time'), ['event_time'], unique=False)

    op.create_table('trace_locations',
    sa.Column('location_id', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('location_id', name=op.f('pk_trace_locations'))
    )
    op.create_table('trace_products',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('updated_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trace_products')),
    sa.UniqueConstraint('gtin', name=op.f('uq_trace_products_gtin'))
    )
    op.create_table('trace_raw_lots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot', sa.String(length=20), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('farm', sa.String(length=128), nullable=False),
    sa.Column('milking_start', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('milking_end', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('cooled_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('cooling_temp_c', sa.Float(), nullable=True),
    sa.Column('tank', sa.String(length=64), nullable=False),
    sa.Column('truck', sa.String(length=64), nullable=False),
    sa.Column('departed_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('arrived_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('processing_start', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('plant', sa.String(length=128), nullable=False),
    sa.Column('updated_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trace_raw_lots')),
    sa.UniqueConstraint('lot', name=op.f('uq_trace_raw_lots_lot'))
    )
    op.create_table('trace_telemetry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plant', sa.String(length=64), nullable=False),
    sa.Column('line', sa.String(length=64), nullable=False),
    sa.Column('metric', sa.String(length=64), nullable=False),
    sa.Column('value_num', sa.Float(), nullable=True),
    sa.Column('value_text', sa.String(length=64), nullable=True),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('interval_s', sa.Integer(), nullable=False),
    sa.Column('received_at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trace_telemetry'))
    )
    with op.batch_alter_table('trace_telemetry', schema=None) as batch_op:
        batch_op.create_index('ix_trace_telemetry_key_at', ['plant', 'line', 'metric', 'at'], unique=False)

    op.create_table('session_batches',
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_session_batches_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'lot', name=op.f('pk_session_batches'))
    )
    op.create_table('trace_event_lots',
    sa.Column('event_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('lot', sa.String(length=20), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=True),
    sa.Column('uom', sa.String(length=8), nullable=True),
    sa.ForeignKeyConstraint(['event_pk'], ['trace_events.id'], name=op.f('fk_trace_event_lots_event_pk_trace_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_pk', 'role', 'lot', name=op.f('pk_trace_event_lots'))
    )
    with op.batch_alter_table('trace_event_lots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trace_event_lots_lot'), ['lot'], unique=False)

    op.create_table('trace_inspections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_key', sa.String(length=128), nullable=False),
    sa.Column('lot', sa.String(length=20), nullable=False),
    sa.Column('item', sa.String(length=128), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('limit_value', sa.String(length=64), nullable=False),
    sa.Column('result', sa.String(length=8), nullable=False),
    sa.Column('lab', sa.String(length=128), nullable=False),
    sa.Column('at', livebot.storage.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('event_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['event_pk'], ['trace_events.id'], name=op.f('fk_trace_inspections_event_pk_trace_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trace_inspections')),
    sa.UniqueConstraint('source_key', name=op.f('uq_trace_inspections_source_key'))
    )
    with op.batch_alter_table('trace_inspections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trace_inspections_lot'), ['lot'], unique=False)

    op.create_table('trace_readings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('uom', sa.String(length=8), nullable=False),
    sa.Column('at', livebot.storage.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_pk'], ['trace_events.id'], name=op.f('fk_trace_readings_event_pk_trace_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trace_readings'))
    )
    with op.batch_alter_table('trace_readings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trace_readings_event_pk'), ['event_pk'], unique=False)



def downgrade() -> None:
    op.drop_table('trace_readings')
    op.drop_table('trace_inspections')
    op.drop_table('trace_event_lots')
    op.drop_table('session_batches')
    op.drop_table('trace_telemetry')
    op.drop_table('trace_raw_lots')
    op.drop_table('trace_products')
    op.drop_table('trace_locations')
    op.drop_table('trace_events')
    op.drop_table('trace_batches')
    op.drop_table('trace_batch_sources')
