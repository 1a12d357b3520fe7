"""desired profiles, installed mirror, profile ids, audit link, rated power

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('desired_profiles',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('charging_profile_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=30), nullable=False),
    sa.Column('stack_level', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=True),
    sa.Column('profile', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_answer', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_desired_profiles_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_desired_profiles')),
    sa.UniqueConstraint('station_id', 'charging_profile_id', name='uq_desired_profiles_station_profile')
    )
    with op.batch_alter_table('desired_profiles', schema=None) as batch_op:
        batch_op.create_index('ix_desired_profiles_state', ['state'], unique=False)

    op.create_table('installed_profiles',
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('charging_profile_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('profile', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('installed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_installed_profiles_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('station_id', 'charging_profile_id', name=op.f('pk_installed_profiles'))
    )
    op.create_table('profile_id_counters',
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('next_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_profile_id_counters_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('station_id', name=op.f('pk_profile_id_counters'))
    )
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_power_w', sa.Float(), nullable=True))

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('desired_profile_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_audit_log_desired_profile', ['desired_profile_id'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_desired_profile')
        batch_op.drop_column('desired_profile_id')

    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.drop_column('max_power_w')

    op.drop_table('profile_id_counters')
    op.drop_table('installed_profiles')
    with op.batch_alter_table('desired_profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_desired_profiles_state')

    op.drop_table('desired_profiles')
    
