"""ocpp 2.0.1 model: protocol version, device model, external limits, EV needs, remote ids

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _station_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['station_id'], ['stations.id'],
                                   name=op.f(f'fk_{table}_station_id_stations'),
                                   ondelete='CASCADE')


def upgrade() -> None:
    # Existing stations connected with OCPP 1.6: the only version served until now.
    op.add_column('stations', sa.Column('ocpp_version', sa.String(length=8),
                                        server_default='1.6', nullable=False))
    op.add_column('transactions', sa.Column('remote_id', sa.String(length=36), nullable=True))
    op.create_index('ix_transactions_station_remote', 'transactions',
                    ['station_id', 'remote_id'], unique=True)
    op.create_table(
        'device_reports',
        sa.Column('station_id', sa.String(length=64), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=True),
        sa.Column('generated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('pending_request_id', sa.Integer(), nullable=True),
        sa.Column('pending_full', sa.Boolean(), nullable=True),
        sa.Column('pending_seq_no', sa.Integer(), nullable=True),
        sa.Column('pending_pages', sa.Integer(), nullable=True),
        sa.Column('pending_generated_at', sa.DateTime(timezone=True), nullable=True),
        _station_fk('device_reports'),
        sa.PrimaryKeyConstraint('station_id', name=op.f('pk_device_reports')),
    )
    op.create_table(
        'device_variables',
        sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column('station_id', sa.String(length=64), nullable=False),
        sa.Column('component', sa.String(length=50), nullable=False),
        sa.Column('component_instance', sa.String(length=50), nullable=True),
        sa.Column('evse_id', sa.Integer(), nullable=True),
        sa.Column('connector_id', sa.Integer(), nullable=True),
        sa.Column('variable', sa.String(length=50), nullable=False),
        sa.Column('variable_instance', sa.String(length=50), nullable=True),
        sa.Column('attribute_type', sa.String(length=10), nullable=False),
        sa.Column('value', sa.Text(), nullable=True),
        sa.Column('mutability', sa.String(length=10), nullable=True),
        sa.Column('persistent', sa.Boolean(), nullable=True),
        sa.Column('constant', sa.Boolean(), nullable=True),
        sa.Column('unit', sa.String(length=16), nullable=True),
        sa.Column('data_type', sa.String(length=20), nullable=True),
        sa.Column('min_limit', sa.Float(), nullable=True),
        sa.Column('max_limit', sa.Float(), nullable=True),
        sa.Column('values_list', sa.Text(), nullable=True),
        sa.Column('request_id', sa.Integer(), nullable=True),
        sa.Column('staged', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        _station_fk('device_variables'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_device_variables')),
    )
    op.create_index('ix_device_variables_station_component', 'device_variables',
                    ['station_id', 'component', 'variable'])
    op.create_table(
        'external_limits',
        sa.Column('station_id', sa.String(length=64), nullable=False),
        sa.Column('evse_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('is_grid_critical', sa.Boolean(), nullable=True),
        sa.Column('schedules', JSON, nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        _station_fk('external_limits'),
        sa.PrimaryKeyConstraint('station_id', 'evse_id', 'source',
                                name=op.f('pk_external_limits')),
    )
    op.create_table(
        'transaction_ev_needs',
        sa.Column('transaction_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('energy_transfer', sa.String(length=30), nullable=True),
        sa.Column('departure', sa.DateTime(timezone=True), nullable=True),
        sa.Column('energy_kwh', sa.Float(), nullable=True),
        sa.Column('energy_amount_wh', sa.Float(), nullable=True),
        sa.Column('ev_min_current_a', sa.Float(), nullable=True),
        sa.Column('ev_max_current_a', sa.Float(), nullable=True),
        sa.Column('ev_max_voltage_v', sa.Float(), nullable=True),
        sa.Column('ev_max_power_w', sa.Float(), nullable=True),
        sa.Column('soc', sa.Float(), nullable=True),
        sa.Column('battery_kwh', sa.Float(), nullable=True),
        sa.Column('max_schedule_tuples', sa.Integer(), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'],
                                name=op.f('fk_transaction_ev_needs_transaction_id_transactions'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('transaction_id', name=op.f('pk_transaction_ev_needs')),
    )


def downgrade() -> None:
    op.drop_table('transaction_ev_needs')
    op.drop_table('external_limits')
    op.drop_index('ix_device_variables_station_component', table_name='device_variables')
    op.drop_table('device_variables')
    op.drop_table('device_reports')
    op.drop_index('ix_transactions_station_remote', table_name='transactions')
    # Dropped in place, not by a batch copy: copying stations or transactions on SQLite
    # would cascade to every row that references them. SQLite drops a column itself
    # since 3.35.
    op.drop_column('transactions', 'remote_id')
    op.drop_column('stations', 'ocpp_version')
