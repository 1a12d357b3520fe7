"""stations, id tags, transactions, meter values, audit log

Revision ID: 0001
Revises: 
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('message_type', sa.String(length=10), nullable=False),
    sa.Column('unique_id', sa.String(length=100), nullable=True),
    sa.Column('action', sa.String(length=50), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.Column('error_code', sa.String(length=50), nullable=True),
    sa.Column('error_description', sa.Text(), nullable=True),
    sa.Column('rtt_ms', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_action_ts', ['action', 'ts'], unique=False)
        batch_op.create_index('ix_audit_log_station_ts', ['station_id', 'ts'], unique=False)
        batch_op.create_index('ix_audit_log_ts', ['ts'], unique=False)

    op.create_table('id_tags',
    sa.Column('id_tag', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('expiry_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parent_id_tag', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id_tag', name=op.f('pk_id_tags'))
    )
    op.create_table('stations',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('vendor', sa.String(length=20), nullable=True),
    sa.Column('model', sa.String(length=20), nullable=True),
    sa.Column('serial_number', sa.String(length=25), nullable=True),
    sa.Column('charge_box_serial_number', sa.String(length=25), nullable=True),
    sa.Column('firmware_version', sa.String(length=50), nullable=True),
    sa.Column('iccid', sa.String(length=20), nullable=True),
    sa.Column('imsi', sa.String(length=20), nullable=True),
    sa.Column('meter_type', sa.String(length=25), nullable=True),
    sa.Column('meter_serial_number', sa.String(length=25), nullable=True),
    sa.Column('last_boot_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('node_id', sa.String(length=100), nullable=True),
    sa.Column('remote_address', sa.String(length=100), nullable=True),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=True),
    sa.Column('firmware_status', sa.String(length=30), nullable=True),
    sa.Column('diagnostics_status', sa.String(length=30), nullable=True),
    sa.Column('configuration', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('configuration_read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('supported_feature_profiles', sa.String(length=200), nullable=True),
    sa.Column('charge_profile_max_stack_level', sa.Integer(), nullable=True),
    sa.Column('charging_schedule_allowed_charging_rate_unit', sa.String(length=50), nullable=True),
    sa.Column('charging_schedule_max_periods', sa.Integer(), nullable=True),
    sa.Column('max_charging_profiles_installed', sa.Integer(), nullable=True),
    sa.Column('number_of_connectors', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stations'))
    )
    op.create_table('connectors',
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('connector_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error_code', sa.String(length=30), nullable=False),
    sa.Column('info', sa.String(length=50), nullable=True),
    sa.Column('vendor_id', sa.String(length=255), nullable=True),
    sa.Column('vendor_error_code', sa.String(length=50), nullable=True),
    sa.Column('status_timestamp', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_connectors_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('station_id', 'connector_id', name=op.f('pk_connectors'))
    )
    op.create_table('meter_values',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=True),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('measurand', sa.String(length=50), nullable=False),
    sa.Column('phase', sa.String(length=10), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('context', sa.String(length=30), nullable=True),
    sa.Column('location', sa.String(length=20), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('raw_value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_meter_values_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meter_values'))
    )
    with op.batch_alter_table('meter_values', schema=None) as batch_op:
        batch_op.create_index('ix_meter_values_station_ts', ['station_id', 'ts'], unique=False)
        batch_op.create_index('ix_meter_values_transaction', ['transaction_id'], unique=False)

    op.create_table('transactions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('id_tag', sa.String(length=20), nullable=False),
    sa.Column('id_tag_status', sa.String(length=20), nullable=False),
    sa.Column('meter_start', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=True),
    sa.Column('meter_stop', sa.Integer(), nullable=True),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stop_reason', sa.String(length=30), nullable=True),
    sa.Column('stop_id_tag', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_transactions_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transactions')),
    sa.UniqueConstraint('station_id', 'connector_id', 'id_tag', 'started_at', 'meter_start', name='uq_transactions_start_identity')
    )
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.create_index('ix_transactions_station_started', ['station_id', 'started_at'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_transactions_station_started')

    op.drop_table('transactions')
    with op.batch_alter_table('meter_values', schema=None) as batch_op:
        batch_op.drop_index('ix_meter_values_transaction')
        batch_op.drop_index('ix_meter_values_station_ts')

    op.drop_table('meter_values')
    op.drop_table('connectors')
    op.drop_table('stations')
    op.drop_table('id_tags')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_ts')
        batch_op.drop_index('ix_audit_log_station_ts')
        batch_op.drop_index('ix_audit_log_action_ts')

    op.drop_table('audit_log')
    
